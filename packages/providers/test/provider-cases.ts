import type { Usage } from '@orchex/core';

const usage = (input: [number, number, number, number], output: [number, number]): Usage => ({
  inputTokens: { total: input[0], noCache: input[1], cacheRead: input[2], cacheWrite: input[3] },
  outputTokens: { total: output[0], reasoning: output[1] },
});

/**
 * Exact usage forced on the fake, and what each adapter must report from that provider's wire shape; the finish
 * reasons, id prefix and a response header each provider's answer carries.
 */
export const PROVIDER_CASES = [
  {
    provider: 'anthropic',
    modelId: 'claude-test',
    fakeUsage: { input: 1000, cacheRead: 600, cacheWrite: 100, output: 50 },
    // Wire: input_tokens 300 + cache_read 600 + cache_creation 100.
    expected: usage([1000, 300, 600, 100], [50, 0]),
    raw: { stop: 'end_turn', length: 'max_tokens' },
    idPrefix: 'msg_',
    header: 'request-id',
  },
  {
    provider: 'openai',
    modelId: 'gpt-test',
    fakeUsage: { input: 1000, cacheRead: 600, output: 80, reasoning: 30 },
    // Wire: prompt_tokens 1000 with cached_tokens 600, completion_tokens 80 with reasoning_tokens 30.
    expected: usage([1000, 400, 600, 0], [80, 30]),
    raw: { stop: 'stop', length: 'length' },
    idPrefix: 'chatcmpl-',
    header: 'x-request-id',
  },
  {
    provider: 'google',
    modelId: 'gemini-test',
    fakeUsage: { input: 1000, cacheRead: 600, output: 80, reasoning: 30 },
    // Wire: promptTokenCount 1000, cachedContentTokenCount 600, candidatesTokenCount 50 + thoughtsTokenCount 30.
    expected: usage([1000, 400, 600, 0], [80, 30]),
    raw: { stop: 'STOP', length: 'MAX_TOKENS' },
    idPrefix: 'fake',
    header: 'content-type',
  },
  {
    provider: 'ollama',
    modelId: 'llama-test',
    fakeUsage: { input: 1000, output: 80 },
    expected: usage([1000, 1000, 0, 0], [80, 0]),
    raw: { stop: 'stop', length: 'length' },
    idPrefix: 'chatcmpl-',
    header: 'x-request-id',
  },
] as const;
