import type { z } from 'zod';
import type { Env } from './env.ts';

/**
 * Parses the env variables one adapter reads; a bad value throws at model creation with a message naming the
 * variable (convention 4), so a mistyped base URL fails at start rather than on the first task.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: Env): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new Error(`invalid provider environment: ${problems.join('; ')}`);
}
