import type { ErrorKind } from '@orchex/core';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

function chain(error: unknown): unknown[] {
  const out: unknown[] = [];
  let current = error;
  while (current !== undefined && current !== null && out.length < 5) {
    out.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return out;
}

// Socket failures that happen before a request is sent: nothing reached the provider, so nothing can be billed.
const NEVER_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * Whether a failure of `kind` may have been processed (and billed) by the provider: a deadline that fired mid-call, a
 * connection lost after the request was sent, or a 2xx body that could not be read. A connection that was never
 * made (refused, unresolvable) is known not to have been.
 */
export function outcomeUnknown(kind: ErrorKind, error: unknown): boolean {
  if (kind === 'timeout' || kind === 'malformed_response') return true;
  if (kind !== 'connection') return false;
  return !chain(error).some((e) => NEVER_SENT_CODES.has(String((e as { code?: unknown }).code)));
}

/** Whether an error (or one of its causes) is an aborted fetch. */
export function isAbortError(error: unknown): boolean {
  return chain(error).some((e) => e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError'));
}

/** Whether an error (or one of its causes) is a failed socket rather than an HTTP answer. */
export function isNetworkError(error: unknown): boolean {
  return chain(error).some((e) => {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    return e instanceof TypeError && e.message === 'fetch failed';
  });
}

/**
 * The kind of a failure that carries no HTTP status: our abort signal firing, a broken socket, or a 2xx body the
 * SDK could not parse. `aborted` comes from the caller's signal, which is the most reliable abort witness because
 * SDKs wrap abort errors differently.
 */
export function transportKind(error: unknown, aborted: boolean): ErrorKind {
  if (aborted || isAbortError(error)) return 'timeout';
  if (error instanceof SyntaxError) return 'malformed_response';
  if (isNetworkError(error)) return 'connection';
  // Nothing recognisable: treat as a transient provider-side failure so the retry policy, not a crash, decides.
  return 'server';
}
