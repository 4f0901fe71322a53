import type { ErrorKind } from '@orchex/core';

/**
 * The kind an HTTP error status means when the body says nothing more specific. Provider classifiers look at the
 * body first (context length, content filter, overloaded types) and fall back to this.
 */
export function kindFromStatus(status: number): ErrorKind {
  if (status === 429) return 'rate_limited';
  if (status === 529 || status === 503) return 'overloaded';
  if (status === 401 || status === 403) return 'auth';
  // 408 is the server giving up on a slow request: worth retrying like our own timeout.
  if (status === 408) return 'timeout';
  if (status >= 500) return 'server';
  if (status >= 400) return 'bad_request';
  // A non-error status reaching a classifier means the SDK rejected a response we could not read.
  return 'malformed_response';
}
