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
  const kind =
    error instanceof Anthropic.APIConnectionError && !ctx.aborted ? 'connection' : transportKind(error, ctx.aborted);
  return new ProviderError({
    ...base,
    kind,
    outcomeUnknown: outcomeUnknown(kind, error),
    message: `anthropic call failed (${kind}): ${describeError(error, [ctx.apiKey])}`,
  });
}
