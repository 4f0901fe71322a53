import { ProviderError } from '@orchex/core';
import type { z } from 'zod';

/** A 2xx whose body lacks what we read: the paths that failed the wire schema, never the values (they hold text). */
export function malformedResponseError(
  provider: string,
  model: string,
  error: z.ZodError,
  statusCode?: number,
): ProviderError {
  const paths = [...new Set(error.issues.map((issue) => issue.path.join('.') || '(root)'))].slice(0, 5);
  return new ProviderError({
    provider,
    model,
    kind: 'malformed_response',
    statusCode,
    message: `${provider} response did not match the expected shape at ${paths.join(', ')}`,
  });
}
