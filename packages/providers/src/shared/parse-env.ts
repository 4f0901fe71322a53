import type { z } from 'zod';
import type { Env } from './env.ts';

/**
 * Parses the env variables one adapter reads; a bad value throws at model creation with a message naming the
 * variable. Workers create every served model's adapter at start, so a mistyped base URL stops the process there
 * instead of failing tasks.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: Env): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new Error(`invalid provider environment: ${problems.join('; ')}`);
}
