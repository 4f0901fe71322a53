import { calcPrice } from '@pydantic/genai-prices';
import { describe, expect, it } from 'vitest';
import {
  costMicros,
  type ModelConfig,
  type ModelConfigInput,
  makeUsage,
  microsToUsd,
  modelConfigSchema,
  parseConfig,
  worstCaseMicros,
} from '../src/index.ts';

// Prices below are the pinned catalogue's list prices in USD per million tokens, i.e. micro-dollars per token:
// every expected figure is tokens × µ$/token, summed, rounded up once.
// The models are named here (not taken from the built-in default) so the figures do not move when the default
// lineup changes.
const config = parseConfig({
  orchestrator: { default_model: 'claude-sonnet-4-5' },
  models: {
    'claude-sonnet-4-5': { provider: 'anthropic', model_id: 'claude-sonnet-4-5', max_tokens: 200_000 },
    'gpt-5': { provider: 'openai', model_id: 'gpt-5', max_tokens: 400_000 },
    'gemini-2.5-pro': { provider: 'google', model_id: 'gemini-2.5-pro', max_tokens: 1_048_576 },
    'llama3.1': {
      provider: 'ollama',
      model_id: 'llama3.1:8b',
      input_cost_per_1k: 0,
      output_cost_per_1k: 0,
      max_tokens: 131_072,
    },
  },
});
const model = (name: string) => config.models[name] as ModelConfig;
const custom = (m: ModelConfigInput) => modelConfigSchema.parse(m);

describe('cost math per provider (integer micro-dollars, hand-computed)', () => {
  it('anthropic claude-sonnet-4-5: uncached, cache read, 5-minute and 1-hour writes, output', () => {
    // $3 in, $0.30 cache read, $3.75 5m write, $6 1h write, $15 out per MTok.
    const usage = makeUsage({ input: 10_000, cacheRead: 6_000, cacheWrite: 3_000, cacheWrite1h: 1_000, output: 500 });
    const expected = 1_000 * 3 + 6_000 * 0.3 + 2_000 * 3.75 + 1_000 * 6 + 500 * 15; // 3000+1800+7500+6000+7500
    expect(expected).toBe(25_800);
    expect(costMicros(usage, model('claude-sonnet-4-5'))).toBe(25_800);
    // The same figure from genai-prices' own calculator (an independent implementation), in USD.
    const ref = calcPrice(
      {
        input_tokens: 10_000,
        cache_read_tokens: 6_000,
        cache_write_tokens: 3_000,
        cache_write_1h_tokens: 1_000,
        output_tokens: 500,
      },
      'claude-sonnet-4-5',
      { providerId: 'anthropic' },
    );
    expect(ref?.total_price).toBeCloseTo(microsToUsd(25_800), 9);
  });

  it('anthropic: all writes 5-minute when no 1-hour split is reported', () => {
    const usage = makeUsage({ input: 3_100, cacheRead: 2_000, cacheWrite: 1_000, output: 10 });
    expect(costMicros(usage, model('claude-sonnet-4-5'))).toBe(100 * 3 + 2_000 * 0.3 + 1_000 * 3.75 + 10 * 15);
  });

  it('openai gpt-5: cached tokens at the cached price, reasoning billed once as output', () => {
    // $1.25 in, $0.125 cached, $10 out; 10,000 prompt tokens of which 8,000 cached; 2,000 completion of which 1,500 reasoning.
    const usage = makeUsage({ input: 10_000, cacheRead: 8_000, output: 2_000, reasoning: 1_500 });
    expect(costMicros(usage, model('gpt-5'))).toBe(2_000 * 1.25 + 8_000 * 0.125 + 2_000 * 10); // 23,500
  });

  it('google gemini-2.5-pro: cached content and thoughts; the >200K tier prices the whole call', () => {
    // ≤200K input: $1.25 in, $0.125 cached, $10 out. >200K: $2.50, $0.25, $15.
    const small = makeUsage({ input: 100_000, cacheRead: 40_000, output: 1_500, reasoning: 500 });
    expect(costMicros(small, model('gemini-2.5-pro'))).toBe(60_000 * 1.25 + 40_000 * 0.125 + 1_500 * 10); // 95,000
    const atLimit = makeUsage({ input: 200_000, output: 0 });
    expect(costMicros(atLimit, model('gemini-2.5-pro'))).toBe(200_000 * 1.25);
    const large = makeUsage({ input: 300_000, cacheRead: 100_000, output: 1_000 });
    expect(costMicros(large, model('gemini-2.5-pro'))).toBe(200_000 * 2.5 + 100_000 * 0.25 + 1_000 * 15); // 540,000
  });

  it('ollama: explicit zero prices cost nothing; explicit prices round up once per attempt', () => {
    expect(costMicros(makeUsage({ input: 50_000, output: 5_000 }), model('llama3.1'))).toBe(0);
    const priced = custom({
      provider: 'ollama',
      model_id: 'llama3.1:70b',
      input_cost_per_1k: 0.0001,
      output_cost_per_1k: 0.0002,
      max_tokens: 8_000,
    });
    // 12,345 × 0.1 = 1,234.5 and 671 × 0.2 = 134.2 → 1,368.7 → 1,369 (rounding each part would give 1,370).
    expect(costMicros(makeUsage({ input: 12_345, output: 671 }), priced)).toBe(1_369);
  });

  it('an override price wins for its field only; the others stay at list price', () => {
    // gpt-5-mini list: $0.25 in, $0.025 cached, $2 out. Override input to $0.50.
    const m = custom({ provider: 'openai', model_id: 'gpt-5-mini', input_cost_per_1k: 0.0005, max_tokens: 400_000 });
    const usage = makeUsage({ input: 1_000, cacheRead: 200, output: 300, reasoning: 200 });
    expect(costMicros(usage, m)).toBe(800 * 0.5 + 200 * 0.025 + 300 * 2); // 1,005
    // Anthropic 1-hour write override: claude-haiku-4-5 list $2 → $3; 5-minute writes stay $1.25.
    const haiku = custom({
      provider: 'anthropic',
      model_id: 'claude-haiku-4-5',
      cache_write_1h_cost_per_1k: 0.003,
      max_tokens: 200_000,
    });
    const writes = makeUsage({ input: 3_000, cacheWrite: 3_000, cacheWrite1h: 1_000, output: 0 });
    expect(costMicros(writes, haiku)).toBe(2_000 * 1.25 + 1_000 * 3); // 5,500
  });

  it('rounds a fraction of a micro-dollar up', () => {
    const m = custom({
      provider: 'openai',
      model_id: 'x',
      input_cost_per_1k: 0.0005,
      output_cost_per_1k: 0,
      max_tokens: 1_000,
    });
    expect(costMicros(makeUsage({ input: 1, output: 0 }), m)).toBe(1); // 0.5 µ$ → 1
  });

  it('worst case: input at the input price of its tier plus max output', () => {
    expect(worstCaseMicros(1_000, 1_000, model('claude-sonnet-4-5'))).toBe(1_000 * 3 + 1_000 * 15);
    expect(worstCaseMicros(250_000, 1_000, model('gemini-2.5-pro'))).toBe(250_000 * 2.5 + 1_000 * 15);
    expect(microsToUsd(18_000)).toBe(0.018);
  });
});
