import { ApiError } from '@google/genai';
import {
  anthropicMessageSchema,
  classifyGoogleError,
  convertAnthropicUsage,
  convertGoogleUsage,
  convertOpenAIUsage,
  geminiResponseSchema,
  mapAnthropicFinishReason,
  mapGoogleFinishReason,
  mapOpenAIFinishReason,
  openaiChatCompletionSchema,
  readRetryAfterMs,
  readRetryDelayMs,
} from '@orchex/providers';
import { describe, expect, it } from 'vitest';
import { kindFromStatus } from '../src/shared/kind-from-status.ts';
import { safeMessage } from '../src/shared/safe-message.ts';

// Usage blocks in the shapes the providers document (recorded-shape fixtures).
describe('convert usage', () => {
  it('anthropic: input_tokens + cache reads + cache writes', () => {
    const body = anthropicMessageSchema.parse({
      id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [{ type: 'text', text: 'Hi' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 21, cache_creation_input_tokens: 188086, cache_read_input_tokens: 0, output_tokens: 393 },
    });
    expect(convertAnthropicUsage(body.usage)).toEqual({
      inputTokens: { total: 188107, noCache: 21, cacheRead: 0, cacheWrite: 188086 },
      outputTokens: { total: 393, reasoning: 0 },
    });
    // Older responses omit the cache fields.
    expect(convertAnthropicUsage({ input_tokens: 10, output_tokens: 2 }).inputTokens).toEqual({
      total: 10,
      noCache: 10,
      cacheRead: 0,
      cacheWrite: 0,
    });
  });

  it('openai: cached_tokens inside prompt_tokens, reasoning_tokens inside completion_tokens', () => {
    const body = openaiChatCompletionSchema.parse({
      id: 'chatcmpl-abc123',
      object: 'chat.completion',
      created: 1741569952,
      model: 'o3-mini-2025-01-31',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi', refusal: null }, finish_reason: 'stop' }],
      usage: {
        prompt_tokens: 2006,
        completion_tokens: 300,
        total_tokens: 2306,
        prompt_tokens_details: { cached_tokens: 1920, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 128, audio_tokens: 0 },
      },
    });
    expect(convertOpenAIUsage(body.usage)).toEqual({
      inputTokens: { total: 2006, noCache: 86, cacheRead: 1920, cacheWrite: 0 },
      outputTokens: { total: 300, reasoning: 128 },
    });
  });

  it('gemini: cachedContentTokenCount inside promptTokenCount, thoughts on top of candidates', () => {
    const body = geminiResponseSchema.parse({
      candidates: [{ content: { parts: [{ text: 'Hi' }], role: 'model' }, finishReason: 'STOP', index: 0 }],
      usageMetadata: {
        promptTokenCount: 12000,
        cachedContentTokenCount: 10000,
        candidatesTokenCount: 50,
        thoughtsTokenCount: 940,
        totalTokenCount: 12990,
      },
      modelVersion: 'gemini-2.5-flash',
      responseId: 'mAitaLmkHPPlz7IPvtfUqQ4',
    });
    expect(convertGoogleUsage(body.usageMetadata)).toEqual({
      inputTokens: { total: 12000, noCache: 2000, cacheRead: 10000, cacheWrite: 0 },
      outputTokens: { total: 990, reasoning: 940 },
    });
  });
});

describe('finish reasons', () => {
  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['refusal', 'content-filter'],
    ['tool_use', 'tool-calls'],
    ['something_new', 'other'],
    [null, 'other'],
  ] as const)('anthropic %s → %s', (raw, unified) => expect(mapAnthropicFinishReason(raw)).toBe(unified));

  it.each([
    ['stop', 'stop'],
    ['length', 'length'],
    ['content_filter', 'content-filter'],
    ['tool_calls', 'tool-calls'],
    ['function_call', 'tool-calls'],
    [null, 'other'],
  ] as const)('openai %s → %s', (raw, unified) => expect(mapOpenAIFinishReason(raw)).toBe(unified));

  it.each([
    ['STOP', 'stop'],
    ['MAX_TOKENS', 'length'],
    ['SAFETY', 'content-filter'],
    ['RECITATION', 'content-filter'],
    ['PROHIBITED_CONTENT', 'content-filter'],
    ['MALFORMED_FUNCTION_CALL', 'error'],
    ['FINISH_REASON_UNSPECIFIED', 'other'],
    [undefined, 'other'],
  ] as const)('gemini %s → %s', (raw, unified) => expect(mapGoogleFinishReason(raw)).toBe(unified));
});

describe('retry hints', () => {
  const now = Date.parse('2025-06-01T12:00:00Z');
  it.each([
    [{ 'retry-after': '5' }, 5000],
    [{ 'retry-after': '0.25' }, 250],
    [{ 'Retry-After': '2' }, 2000],
    [{ 'retry-after': '5', 'retry-after-ms': '1234.5' }, 1235],
    [{ 'retry-after': 'Sun, 01 Jun 2025 12:00:30 GMT' }, 30_000],
    [{ 'retry-after': 'Sun, 01 Jun 2025 11:00:00 GMT' }, 0],
    [{ 'retry-after': 'soon' }, undefined],
    [{}, undefined],
  ])('%j → %s ms', (headers, expected) => {
    expect(readRetryAfterMs(headers, now)).toBe(expected);
    expect(readRetryAfterMs(new Headers(headers), now)).toBe(expected);
  });

  it.each([
    ['7s', 7000],
    ['0.5s', 500],
    ['30.120s', 30_120],
    ['7', undefined],
  ])('gemini retryDelay %s → %s ms', (retryDelay, expected) => {
    expect(readRetryDelayMs([{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay }])).toBe(expected);
  });
});

it.each([
  [429, 'rate_limited'],
  [529, 'overloaded'],
  [503, 'overloaded'],
  [500, 'server'],
  [504, 'server'],
  [401, 'auth'],
  [403, 'auth'],
  [408, 'timeout'],
  [400, 'bad_request'],
  [422, 'bad_request'],
] as const)('status %i without a telling body → %s', (status, kind) => expect(kindFromStatus(status)).toBe(kind));

it('masks keys and bounds length in error messages', () => {
  expect(safeMessage('Incorrect API key provided: sk-proj-abc***wxyz.')).toBe(
    'Incorrect API key provided: [redacted].',
  );
  expect(safeMessage('bad key my-secret-key-123 here', ['my-secret-key-123'])).toBe('bad key [redacted] here');
  expect(safeMessage('x'.repeat(1000)).length).toBeLessThanOrEqual(301);
});

describe('google stream errors', () => {
  const ctx = { model: 'g', aborted: false };

  it('an error chunk inside a stream is read like an error body', () => {
    const chunk = { error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } };
    const error = new ApiError({ message: `got status: UNAVAILABLE. ${JSON.stringify(chunk)}`, status: 503 });
    expect(classifyGoogleError(error, ctx)).toMatchObject({
      kind: 'overloaded',
      statusCode: 503,
      message: 'google 503 UNAVAILABLE: The model is overloaded.',
    });
  });

  it.each([
    'exception parsing stream chunk {"candidates": [{"content": {"parts": [{"text": "SECRET-ANSWER',
    'Incomplete JSON segment at the end',
  ])('the SDK giving up on a chunk (%s…) is malformed_response, without quoting it', (text) => {
    const error = classifyGoogleError(new Error(text), ctx);
    expect(error).toMatchObject({ kind: 'malformed_response', outcomeUnknown: true });
    expect(error.message).not.toContain('SECRET');
  });
});
