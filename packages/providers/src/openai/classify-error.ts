import { type ErrorKind, ProviderError } from '@orchex/core';
import OpenAI from 'openai';
import type { ClassifyContext } from '../shared/classify-context.ts';
import { describeError } from '../shared/describe-error.ts';
import { kindFromStatus } from '../shared/kind-from-status.ts';
import { readRetryAfterMs } from '../shared/read-retry-after.ts';
import { safeMessage } from '../shared/safe-message.ts';
import { outcomeUnknown, transportKind } from '../shared/transport-kind.ts';

const CONTEXT_LENGTH = /maximum context length|context length|context window|prompt is too long|too many tokens/i;
const CONTENT_FILTER = /content management policy|content policy|safety system/i;

function kindFromApiError(status: number, code: string | null | undefined, message: string): ErrorKind {
  if (code === 'context_length_exceeded' || (status === 400 && CONTEXT_LENGTH.test(message))) return 'context_length';
  if (code === 'content_filter' || code === 'content_policy_violation' || CONTENT_FILTER.test(message)) {
    return 'content_filter';
  }
  // A 429 for an exhausted balance will not clear by waiting: treat it like a key that cannot be used.
  if (code === 'insufficient_quota') return 'auth';
  if (status >= 500 && /overloaded/i.test(message)) return 'overloaded';
  return kindFromStatus(status);
}

/**
 * The kind of an error sent inside a stream (`data: {"error": …}` after a 200 began), which has no HTTP status: its
 * code and type decide (OpenAI's `server_error`, `rate_limit_exceeded` …), anything unrecognised is a server failure.
 */
function kindFromStreamError(type: string | undefined, code: string | null | undefined, message: string): ErrorKind {
  if (code === 'context_length_exceeded') return 'context_length';
  if (code === 'content_filter' || code === 'content_policy_violation' || CONTENT_FILTER.test(message)) {
    return 'content_filter';
  }
  if (code === 'insufficient_quota') return 'auth';
  if (code === 'rate_limit_exceeded' || type === 'rate_limit_error' || type === 'requests' || type === 'tokens') {
    return 'rate_limited';
  }
  if (/overloaded/i.test(message)) return 'overloaded';
  if (type === 'invalid_request_error') return 'bad_request';
  return 'server';
}

/** Maps anything the openai SDK throws (OpenAI or an OpenAI-compatible server) to exactly one ProviderError. */
export function classifyOpenAIError(error: unknown, ctx: ClassifyContext & { provider: string }): ProviderError {
  if (error instanceof ProviderError) return error;
  const base = { provider: ctx.provider, model: ctx.model, cause: error };
  if (error instanceof OpenAI.APIError && typeof error.status === 'number') {
    const body = error.error as { message?: unknown } | undefined;
    const text = typeof body?.message === 'string' ? body.message : error.message;
    // An HTTP answer is authoritative even if our deadline fired while it was being read.
    return new ProviderError({
      ...base,
      kind: kindFromApiError(error.status, error.code, text),
      statusCode: error.status,
      retryAfterMs: readRetryAfterMs(error.headers),
      message: `${ctx.provider} ${error.status} ${error.code ?? error.type ?? 'error'}: ${safeMessage(text, [ctx.apiKey])}`,
    });
  }
  if (error instanceof OpenAI.APIConnectionTimeoutError || error instanceof OpenAI.APIUserAbortError) {
    return new ProviderError({ ...base, kind: 'timeout', message: `${ctx.provider} call aborted (deadline reached)` });
  }
  if (error instanceof OpenAI.APIError && !(error instanceof OpenAI.APIConnectionError)) {
    // An error inside a stream: the SDK raises it as an APIError without a status (aborts and connection errors
    // are APIErrors too, hence the order of these checks).
    const body = error.error as { message?: unknown } | undefined;
    const text = typeof body?.message === 'string' ? body.message : 'no message';
    return new ProviderError({
      ...base,
      kind: kindFromStreamError(error.type, error.code, text),
      message: `${ctx.provider} stream error ${error.code ?? error.type ?? 'error'}: ${safeMessage(text, [ctx.apiKey])}`,
    });
  }
  const kind =
    error instanceof OpenAI.APIConnectionError && !ctx.aborted ? 'connection' : transportKind(error, ctx.aborted);
  return new ProviderError({
    ...base,
    kind,
    outcomeUnknown: outcomeUnknown(kind, error),
    message: `${ctx.provider} call failed (${kind}): ${describeError(error, [ctx.apiKey])}`,
  });
}
