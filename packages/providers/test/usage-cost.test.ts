import { costMicros, type ModelConfigInput, modelConfigSchema, type ProviderName } from '@orchex/core';
import { anthropicMessageSchema, convertAnthropicUsage, createLanguageModel } from '@orchex/providers';
import { type FakeLlmServer, type FakeUsage, fakeProviderEnv, startFakeLlmServer } from '@orchex/providers/fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_KEYS } from './helpers.ts';

let fake: FakeLlmServer;
let env: Record<string, string>;
beforeAll(async () => {
  fake = await startFakeLlmServer();
  env = { ...fakeProviderEnv(fake.url), ...TEST_KEYS };
});
afterAll(() => fake.close());

describe('anthropic cache_creation (recorded shape)', () => {
  it('keeps the 1-hour writes apart from the 5-minute ones', () => {
    const body = anthropicMessageSchema.parse({
      id: 'msg_01Aq9w938a90dw8q',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5-20250929',
      content: [{ type: 'text', text: 'Hi' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: {
        input_tokens: 50,
        cache_creation_input_tokens: 2048,
        cache_read_input_tokens: 1800,
        cache_creation: { ephemeral_5m_input_tokens: 456, ephemeral_1h_input_tokens: 1592 },
        output_tokens: 503,
        service_tier: 'standard',
      },
    });
    expect(convertAnthropicUsage(body.usage)).toEqual({
      inputTokens: { total: 3898, noCache: 50, cacheRead: 1800, cacheWrite: 2048, cacheWrite1h: 1592 },
      outputTokens: { total: 503, reasoning: 0 },
    });
    // Only the split, no total: every write still counts.
    const split = convertAnthropicUsage({
      input_tokens: 10,
      output_tokens: 1,
      cache_creation: { ephemeral_5m_input_tokens: 5, ephemeral_1h_input_tokens: 7 },
    });
    expect(split.inputTokens).toEqual({ total: 22, noCache: 10, cacheRead: 0, cacheWrite: 12, cacheWrite1h: 7 });
  });
});

// Usage the fake reports on each provider's wire, through the official SDK and our adapter, priced by costMicros:
// figures hand-computed from the catalogue's list prices (USD per MTok = micro-dollars per token).
const CASES: Array<{ provider: ProviderName; model: ModelConfigInput; usage: FakeUsage; micros: number; why: string }> =
  [
    {
      provider: 'anthropic',
      model: { provider: 'anthropic', model_id: 'claude-haiku-4-5', max_tokens: 200_000 },
      usage: { input: 10_000, cacheRead: 6_000, cacheWrite: 3_000, cacheWrite1h: 1_000, output: 500 },
      micros: 1_000 * 1 + 6_000 * 0.1 + 2_000 * 1.25 + 1_000 * 2 + 500 * 5,
      why: 'uncached $1, read $0.10, 5m write $1.25, 1h write $2, output $5',
    },
    {
      provider: 'openai',
      model: { provider: 'openai', model_id: 'gpt-5', max_tokens: 400_000 },
      usage: { input: 10_000, cacheRead: 8_000, output: 2_000, reasoning: 1_500 },
      micros: 2_000 * 1.25 + 8_000 * 0.125 + 2_000 * 10,
      why: 'uncached $1.25, cached $0.125, output (reasoning inside) $10',
    },
    {
      provider: 'google',
      model: { provider: 'google', model_id: 'gemini-2.5-pro', max_tokens: 1_048_576 },
      usage: { input: 100_000, cacheRead: 40_000, output: 1_500, reasoning: 500 },
      micros: 60_000 * 1.25 + 40_000 * 0.125 + 1_500 * 10,
      why: 'uncached $1.25, cached $0.125, candidates + thoughts $10',
    },
    {
      provider: 'ollama',
      model: {
        provider: 'ollama',
        model_id: 'llama3.1:8b',
        input_cost_per_1k: 0.0001,
        output_cost_per_1k: 0.0002,
        max_tokens: 8_000,
      },
      usage: { input: 12_345, output: 671 },
      micros: 1_369, // 1,234.5 + 134.2, rounded up once
      why: 'explicit $0.10 / $0.20',
    },
  ];

describe.each(CASES)('$provider: cost of a call from its wire usage', (c) => {
  it(`${c.why}`, async () => {
    const config = modelConfigSchema.parse(c.model);
    fake.script(c.model.model_id, [{ type: 'ok', usage: c.usage }]);
    const result = await createLanguageModel(`${c.provider}-priced`, config, env).doGenerate({
      prompt: 'hi',
      maxOutputTokens: 10,
    });
    expect(costMicros(result.usage, config)).toBe(c.micros);
  });
});

it('the fake refuses more 1-hour writes than writes', async () => {
  const res = await fetch(`${fake.url}/__fake/script`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'x', steps: [{ type: 'ok', usage: { cacheWrite: 1, cacheWrite1h: 2 } }] }),
  });
  expect(res.status).toBe(400);
});
