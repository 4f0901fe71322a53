import { asRecord, type FakeProtocol, type FakeReply, paramsOf, sseEvent, textOf } from './fake-protocol.ts';
import type { FakeErrorPreset } from './fake-step.ts';

const FINISH = { stop: 'STOP', length: 'MAX_TOKENS', content_filter: 'SAFETY' } as const;

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

const MESSAGES: Record<FakeErrorPreset, string> = {
  rate_limited:
    'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.',
  overloaded: 'The model is overloaded. Please try again later.',
  server:
    'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
  context_length: 'The input token count (1210452) exceeds the maximum number of tokens allowed (1048576).',
  auth: 'API key not valid. Please pass a valid API key.',
  content_filter: 'The request was blocked because it violates the safety policy.',
  bad_request: 'Invalid JSON payload received. Unknown name "foo": Cannot find field.',
};

function details(preset: FakeErrorPreset, retryAfterMs: number | undefined): unknown[] {
  if (preset === 'rate_limited') {
    return [
      {
        '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
        violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests' }],
      },
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${(retryAfterMs ?? 1000) / 1000}s` },
    ];
  }
  if (preset === 'auth') {
    return [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'API_KEY_INVALID',
        domain: 'googleapis.com',
        metadata: { service: 'generativelanguage.googleapis.com' },
      },
    ];
  }
  return [];
}

/** The code an error chunk inside a stream carries for each preset. */
const STREAM_ERROR_STATUS: Record<FakeErrorPreset, number> = {
  rate_limited: 429,
  overloaded: 503,
  server: 500,
  context_length: 400,
  auth: 401,
  content_filter: 400,
  bad_request: 400,
};

/** Gemini's SSE separates events with CRLF pairs; the SDK accepts either, and the fake speaks like the API. */
const CRLF2 = '\r\n\r\n';

/** The usage block: prompt, candidates (reasoning excluded) and thoughts counted apart. */
function usageMetadata(reply: FakeReply) {
  const { input, output, cacheRead, reasoning } = reply.usage;
  return {
    promptTokenCount: input,
    candidatesTokenCount: output - reasoning,
    totalTokenCount: input + output,
    ...(cacheRead > 0 ? { cachedContentTokenCount: cacheRead } : {}),
    ...(reasoning > 0 ? { thoughtsTokenCount: reasoning } : {}),
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: input }],
  };
}

/**
 * Gemini API, POST /v1beta/models/{model}:generateContent, and :streamGenerateContent?alt=sse for streams (the
 * model, and whether to stream, come from the URL).
 */
export const geminiProtocol: FakeProtocol = {
  provider: 'google',
  parseRequest(body, pathModel) {
    const request = asRecord(body);
    if (pathModel === undefined || !Array.isArray(request?.contents)) return undefined;
    const contents = request.contents.map(asRecord);
    const lastUser = contents.filter((c) => c?.role === undefined || c.role === 'user').at(-1);
    const system = textOf(asRecord(request.systemInstruction)?.parts);
    const all = system + contents.map((c) => textOf(c?.parts)).join('');
    return {
      model: pathModel,
      prompt: textOf(lastUser?.parts),
      inputChars: all.length,
      // The URL decides (streamGenerateContent); the server sets it from the route.
      stream: false,
      includeUsage: true,
      messages: request.contents,
      system: request.systemInstruction ?? null,
      params: paramsOf(request, ['contents', 'systemInstruction']),
    };
  },
  okResponse(reply) {
    const candidate =
      reply.finish === 'content_filter'
        ? {
            finishReason: FINISH.content_filter,
            index: 0,
            safetyRatings: [{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true }],
          }
        : { content: { parts: [{ text: reply.text }], role: 'model' }, finishReason: FINISH[reply.finish], index: 0 };
    return {
      headers: {},
      body: {
        candidates: [candidate],
        usageMetadata: usageMetadata(reply),
        modelVersion: reply.model,
        responseId: reply.id,
      },
    };
  },
  errorBody(preset, status, retryAfterMs) {
    return {
      error: {
        code: status,
        message: MESSAGES[preset],
        status: STATUS_NAMES[status] ?? (status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION'),
        details: details(preset, retryAfterMs),
      },
    };
  },
  // Streaming: one GenerateContentResponse per delta, each with the usage so far (the prompt's), then a last one
  // with finishReason and the complete usageMetadata.
  streamHead() {
    return '';
  },
  streamDelta(reply, text) {
    const { promptTokenCount } = usageMetadata(reply);
    return sseEvent(
      {
        candidates: [{ content: { parts: [{ text }], role: 'model' }, index: 0 }],
        usageMetadata: { promptTokenCount, totalTokenCount: promptTokenCount },
        modelVersion: reply.model,
        responseId: reply.id,
      },
      undefined,
      CRLF2,
    );
  },
  streamTail(reply) {
    const candidate =
      reply.finish === 'content_filter'
        ? { finishReason: FINISH.content_filter, index: 0 }
        : { content: { parts: [{ text: '' }], role: 'model' }, finishReason: FINISH[reply.finish], index: 0 };
    const last = {
      candidates: [candidate],
      usageMetadata: usageMetadata(reply),
      modelVersion: reply.model,
      responseId: reply.id,
    };
    return sseEvent(last, undefined, CRLF2);
  },
  streamError(preset) {
    // A failure after the stream began arrives as a chunk holding a google.rpc.Status, like an error body.
    const status = STREAM_ERROR_STATUS[preset];
    const error = { code: status, message: MESSAGES[preset], status: STATUS_NAMES[status] };
    return sseEvent({ error }, undefined, CRLF2);
  },
  malformedStream(variant) {
    return variant === 'not-json'
      ? sseEvent('{"candidates": [', undefined, CRLF2)
      : sseEvent({ candidates: [{ content: { parts: 'not a list' } }] }, undefined, CRLF2);
  },
};
