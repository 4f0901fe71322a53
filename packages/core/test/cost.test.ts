import { describe, expect, it } from 'vitest';
import { costMicros, loadConfig, makeUsage, microsToUsd, worstCaseMicros, type ModelConfig } from '../src/index.ts';

const config = loadConfig({});
const model = (name: string) => config.models[name] as ModelConfig;

describe('cost math (integer micro-dollars)', () => {
  it('prices plain input and output: 1000 in + 500 out on claude-sonnet-4-5 = $0.003 + $0.0075', () => {
    expect(costMicros(makeUsage({ input: 1000, output: 500 }), model('claude-sonnet-4-5'))).toBe(10_500);
  });

  it('prices Anthropic cache reads at 0.1× and writes at 1.25×', () => {
    // 100 uncached ($0.0003) + 2000 cache read ($0.0006) + 1000 cache write ($0.00375) + 10 out ($0.00015)
    const usage = makeUsage({ input: 3100, cacheRead: 2000, cacheWrite: 1000, output: 10 });
    expect(costMicros(usage, model('claude-sonnet-4-5'))).toBe(300 + 600 + 3750 + 150);
  });

  it('bills reasoning tokens as output and uses overrides from config', () => {
    const m: ModelConfig = { ...model('gpt-5-mini'), input_cost_per_1k: 0.0005, output_cost_per_1k: 0.0015 };
    // 1000 in = 500 µ$, 300 out (200 of them reasoning) = 450 µ$
    expect(costMicros(makeUsage({ input: 1000, output: 300, reasoning: 200 }), m)).toBe(950);
  });

  it('rounds up fractions of a micro-dollar once', () => {
    const m: ModelConfig = { ...model('gpt-5-mini'), input_cost_per_1k: 0.0005, output_cost_per_1k: 0 };
    expect(costMicros(makeUsage({ input: 1, output: 0 }), m)).toBe(1); // 0.5 µ$ → 1
  });

  it('worst case uses max output', () => {
    expect(worstCaseMicros(1000, 1000, model('claude-sonnet-4-5'))).toBe(3000 + 15_000);
    expect(microsToUsd(18_000)).toBe(0.018);
  });
});
