import { safeErrorText } from '@orchex/core';

/**
 * What the API logs about an unexpected error: safeErrorText (for a database error its SQLSTATE, never the statement
 * or its parameters, which hold prompts) and the stack's frames only — the stack's first lines repeat the message.
 */
export function unexpectedErrorFields(err: unknown): { err: string; frames?: string } {
  const stack = err instanceof Error && typeof err.stack === 'string' ? err.stack : '';
  const frames = stack
    .split('\n')
    .filter((line) => /^\s+at /.test(line))
    .slice(0, 12)
    .join('\n');
  return { err: safeErrorText(err), ...(frames ? { frames } : {}) };
}
