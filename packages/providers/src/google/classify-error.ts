import { ApiError } from '@google/genai';
import { type ErrorKind, ProviderError } from '@orchex/core';
import type { ClassifyContext } from '../shared/classify-context.ts';
import { describeError } from '../shared/describe-error.ts';
import { kindFromStatus } from '../shared/kind-from-status.ts';
import { safeMessage } from '../shared/safe-message.ts';
import { outcomeUnknown, transportKind } from '../shared/transport-kind.ts';
import { geminiErrorBodySchema } from './google-wire-schema.ts';

type ErrorDetails = { '@type'?: string | undefined; [key: string]: unknown }[];

const CONTEXT_LENGTH = /exceeds the maximum number of tokens|input token count|context window/i;
const CONTENT_FILTER = /safety|prohibited content/i;
/** What @google/genai's SSE reader throws for a chunk or a stream end it cannot parse. */
const UNREADABLE_STREAM = /^exception parsing stream chunk|^Incomplete JSON segment/;

/** Gemini puts its retry hint in the body (google.rpc.RetryInfo, e.g. "7s"), not in a header. */
export function readRetryDelayMs(details: ErrorDetails | undefined): number | undefined {
  const info = details?.find((d) => d['@type']?.endsWith('google.rpc.RetryInfo'));
  const delay = info?.retryDelay;
  if (typeof delay !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)s$/.exec(delay.trim());
  return match?.[1] === undefined ? undefined : Math.ceil(Number(match[1]) * 1000);
}

function kindFromApiError(status: number, message: string, details: ErrorDetails | undefined): ErrorKind {
  // An invalid key comes back as 400 INVALID_ARGUMENT with reason API_KEY_INVALID, not as 401.
  const keyInvalid = details?.some((d) => d.reason === 'API_KEY_INVALID') || /API key not valid/i.test(message);
  if (keyInvalid) return 'auth';
  if (status === 400 && CONTEXT_LENGTH.test(message)) return 'context_length';
  if (status === 400 && CONTENT_FILTER.test(message)) return 'content_filter';
  return kindFromStatus(status);
}

/** Maps anything @google/genai throws to exactly one ProviderError. */
export function classifyGoogleError(error: unknown, ctx: ClassifyContext): ProviderError {
  if (error instanceof ProviderError) return error;
  const base = { provider: 'google', model: ctx.model, cause: error };
  if (error instanceof ApiError) {
    // The SDK throws the error body, JSON-encoded, as the message; an error chunk inside a stream comes prefixed
    // with "got status: <STATUS>. ".
    let body: unknown;
    try {
      body = JSON.parse(error.message.replace(/^got status: [^{]*/, ''));
    } catch {
      body = undefined;
    }
    const parsed = geminiErrorBodySchema.safeParse(body);
    const info = parsed.success ? parsed.data.error : undefined;
    const text = info?.message ?? error.message;
    return new ProviderError({
      ...base,
      kind: kindFromApiError(error.status, text, info?.details),
      statusCode: error.status,
      retryAfterMs: readRetryDelayMs(info?.details),
      message: `google ${error.status} ${info?.status ?? 'error'}: ${safeMessage(text, [ctx.apiKey])}`,
    });
  }
  if (!ctx.aborted && error instanceof Error && UNREADABLE_STREAM.test(error.message)) {
    // The SDK's own stream parser gave up; its message quotes the chunk, i.e. answer text, so it is not kept.
    return new ProviderError({ ...base, kind: 'malformed_response', message: 'google stream could not be parsed' });
  }
  const kind = transportKind(error, ctx.aborted);
  return new ProviderError({
    ...base,
    kind,
    outcomeUnknown: outcomeUnknown(kind, error),
    message: `google call failed (${kind}): ${describeError(error, [ctx.apiKey])}`,
  });
}
