import type { z } from 'zod';

/** One problem with an input, named by its dotted path (e.g. "routing_rules.code.primary"). */
export interface FieldIssue {
  field: string;
  message: string;
}

/** Flattens a zod error into field-named issues; the root is called "(root)". */
export function zodIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    field: issue.path.length ? issue.path.map(String).join('.') : '(root)',
    message: issue.message,
  }));
}

/** "a.b: message; c: message" — for start-up failures that must name the key. */
export function formatIssues(issues: FieldIssue[]): string {
  return issues.map((i) => `${i.field}: ${i.message}`).join('; ');
}
