/**
 * What went wrong with one provider call. The fallback chain decides on these kinds only, so every SDK error and
 * HTTP outcome must map to exactly one of them (see each adapter's classify-error.ts).
 */
export type ErrorKind =
  | 'rate_limited'
  | 'overloaded'
  | 'server'
  | 'timeout'
  | 'connection'
  | 'bad_request'
  | 'auth'
  | 'context_length'
  | 'content_filter'
  | 'malformed_response';

/** Whether retrying the same model can help; exhaustive so a new kind cannot be forgotten. */
export function isRetryableKind(kind: ErrorKind): boolean {
  switch (kind) {
    case 'rate_limited':
    case 'overloaded':
    case 'server':
    case 'timeout':
    case 'connection':
    case 'malformed_response':
      return true;
    case 'bad_request':
    case 'auth':
    case 'context_length':
    case 'content_filter':
      return false;
  }
}

export interface ProviderErrorInit {
  provider: string;
  model: string;
  kind: ErrorKind;
  message: string;
  statusCode?: number | undefined;
  /** Provider's hint for when to try again, from retry-after(-ms) headers or Gemini's RetryInfo. */
  retryAfterMs?: number | undefined;
  /**
   * The request may have reached the provider and been processed — and billed — although no usable answer came back
   * (our deadline fired mid-call, the connection broke after the request was sent, a 2xx body could not be read).
   * Default: true for `timeout` and `malformed_response`, else false (the provider answered with an error, or the
   * request never left).
   */
  outcomeUnknown?: boolean | undefined;
  /**
   * A streamed call failed after at least one text delta had been handed to the caller: the answer was cut, and
   * whoever relayed those deltas must tell its client so rather than end as if complete. Default false.
   */
  afterOutput?: boolean | undefined;
  cause?: unknown;
}

/** One failed provider call, carrying only what callers decide on. Messages never contain keys or prompt text. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly provider: string;
  readonly model: string;
  readonly kind: ErrorKind;
  readonly statusCode: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly isRetryable: boolean;
  /** See ProviderErrorInit.outcomeUnknown: such an attempt is charged at its worst case, marked as estimated. */
  readonly outcomeUnknown: boolean;
  /** See ProviderErrorInit.afterOutput: a stream that failed after some of its text was delivered. */
  readonly afterOutput: boolean;

  constructor(init: ProviderErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.provider = init.provider;
    this.model = init.model;
    this.kind = init.kind;
    this.statusCode = init.statusCode;
    this.retryAfterMs = init.retryAfterMs;
    this.isRetryable = isRetryableKind(init.kind);
    // A deadline mid-call or an unreadable 2xx: the provider most likely did the work. Connections: see the adapters.
    this.outcomeUnknown = init.outcomeUnknown ?? (init.kind === 'timeout' || init.kind === 'malformed_response');
    this.afterOutput = init.afterOutput ?? false;
  }
}

const KINDS: ReadonlySet<string> = new Set<ErrorKind>([
  'rate_limited',
  'overloaded',
  'server',
  'timeout',
  'connection',
  'bad_request',
  'auth',
  'context_length',
  'content_filter',
  'malformed_response',
]);

/**
 * Any failure of a model call as a ProviderError: itself; an error that carries a `kind` (how plugin adapters,
 * which cannot import this class, steer retries and fallbacks) with its statusCode and retryAfterMs; anything else
 * as a retryable `server` failure.
 */
export function toProviderError(err: unknown, provider: string, model: string): ProviderError {
  if (err instanceof ProviderError) return err;
  const e = (err ?? {}) as { kind?: unknown; message?: unknown; statusCode?: unknown; retryAfterMs?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (typeof e.kind === 'string' && KINDS.has(e.kind)) {
    return new ProviderError({
      provider,
      model,
      kind: e.kind as ErrorKind,
      message,
      statusCode: typeof e.statusCode === 'number' ? e.statusCode : undefined,
      retryAfterMs: typeof e.retryAfterMs === 'number' ? e.retryAfterMs : undefined,
      cause: err,
    });
  }
  return new ProviderError({ provider, model, kind: 'server', message, cause: err });
}
