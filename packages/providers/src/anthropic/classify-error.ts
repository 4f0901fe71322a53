import Anthropic from '@anthropic-ai/sdk';
import { type ErrorKind, ProviderError } from '@orchex/core';
import type { ClassifyContext } from '../shared/classify-context.ts';
import { describeError } from '../shared/describe-error.ts';
import { kindFromStatus } from '../shared/kind-from-status.ts';
import { readRetryAfterMs } from '../shared/read-retry-after.ts';
import { safeMessage } from '../shared/safe-message.ts';
import { outcomeUnknown, transportKind } from '../shared/transport-kind.ts';

const CONTEXT_LENGTH = /prompt is too long|exceeds? (the )?context (limit|window)|context length/i;
const CONTENT_FILTER = /content filtering|content policy|usage policy/i;

function kindFromApiError(status: number, type: string | null, message: string): ErrorKind {
  // Anthropic may send overloaded_error with a status other than 529 (e.g. mid-stream), so the type decides.
  if (type === 'overloaded_error') return 'overloaded';
  if (status === 400 || status === 413) {
    if (CONTEXT_LENGTH.test(message)) return 'context_length';
    if (CONTENT_FILTER.test(message)) return 'content_filter';
  }
  return kindFromStatus(status);
}

/**
 * The kind of an error event sent inside a stream (`event: error`), which has a type but no HTTP status: the
 * response had begun as a 200. Exhaustive over the SDK's ErrorType, so a new type is a compile error here.
 */
function kindFromStreamError(type: Anthropic.ErrorType | null, message: string): ErrorKind {
  switch (type) {
    case 'overloaded_error':
      return 'overloaded';
    case 'rate_limit_error':
      return 'rate_limited';
    case 'api_error':
    case null:
      return 'server';
    case 'timeout_error':
      return 'timeout';
    case 'authentication_error':
    case 'permission_error':
    case 'billing_error':
      return 'auth';
    case 'invalid_request_error':
      if (CONTEXT_LENGTH.test(message)) return 'context_length';
      return CONTENT_FILTER.test(message) ? 'content_filter' : 'bad_request';
    case 'not_found_error':
    case 'memory_precondition_failed_error':
    case 'memory_path_conflict_error':
    case 'conflict_error':
      return 'bad_request';
  }
}

/** Maps anything the Anthropic SDK throws to exactly one ProviderError. */
export function classifyAnthropicError(error: unknown, ctx: ClassifyContext): ProviderError {
  if (error instanceof ProviderError) return error;
  const base = { provider: 'anthropic', model: ctx.model, cause: error };
  if (error instanceof Anthropic.APIError && typeof error.status === 'number') {
    const text = error.apiMessage ?? error.message;
    // An HTTP answer is authoritative even if our deadline fired while it was being read.
    return new ProviderError({
      ...base,
      kind: kindFromApiError(error.status, error.type, text),
      statusCode: error.status,
      retryAfterMs: readRetryAfterMs(error.headers),
      message: `anthropic ${error.status} ${error.type ?? 'error'}: ${safeMessage(text, [ctx.apiKey])}`,
    });
  }
  // The SDK's own timer is set far out (the caller's signal is the deadline), but honour it if it fires.
  if (error instanceof Anthropic.APIConnectionTimeoutError || error instanceof Anthropic.APIUserAbortError) {
    return new ProviderError({ ...base, kind: 'timeout', message: 'anthropic call aborted (deadline reached)' });
  }
  if (error instanceof Anthropic.APIError && !(error instanceof Anthropic.APIConnectionError)) {
    // An error event inside a stream: the SDK raises it as an APIError without a status (aborts and connection
    // errors are APIErrors too, hence the order of these checks).
    const text = error.apiMessage ?? 'no message';
    return new ProviderError({
      ...base,
      kind: kindFromStreamError(error.type, text),
      message: `anthropic stream error ${error.type ?? 'error'}: ${safeMessage(text, [ctx.apiKey])}`,
    });
  }
  const kind =
    error instanceof Anthropic.APIConnectionError && !ctx.aborted ? 'connection' : transportKind(error, ctx.aborted);
  return new ProviderError({
    ...base,
    kind,
    outcomeUnknown: outcomeUnknown(kind, error),
    message: `anthropic call failed (${kind}): ${describeError(error, [ctx.apiKey])}`,
  });
}
