import { describe, expect, it } from 'vitest';
import { testConfig } from '../../../test/support/test-config.ts';
import {
  assignVariant,
  type ModelSignal,
  type ModelSignals,
  parseConfig,
  planTask,
  route,
  taskInputSchema,
  type Weighted,
} from '../src/index.ts';

// Quality: claude-test 90, gpt-test 80, gemini-test 85, llama-test 40 — set so each strategy must leave the rule.
// Prices (worst case of input + 1,000 output tokens): llama $0 < gpt = gemini (1.25/10 per M) < claude (3/15 per M).
const config = testConfig({
  models: {
    'claude-test': { quality: 90 },
    'gpt-test': { quality: 80 },
    'gemini-test': { quality: 85 },
    'llama-test': { quality: 40 },
  },
  routing: { health: { enabled: true } },
  routing_rules: {
    // The rule as written starts on the dearest, best model; its floor is its own lowest quality (80).
    code: { primary: 'claude-test', fallback: ['gpt-test', 'gemini-test'] },
    simple: { primary: 'gpt-test', fallback: ['gemini-test'], strategy: 'quality' },
  },
});

const task = (over: Record<string, unknown> = {}) =>
  taskInputSchema.parse({ prompt: 'Refactor this function to be pure.', task_type: 'code', max_tokens: 1000, ...over });

const measured = (msPerToken: number, more: Partial<ModelSignal> = {}): ModelSignal => ({
  samples: 20,
  msPerTokenP50: msPerToken,
  msPerTokenP95: msPerToken * 2,
  outcomes: 20,
  errorRate: 0,
  circuit: 'closed',
  ...more,
});

describe('routing strategies', () => {
  it('as written: the rule order, no strategy', () => {
    const r = route(task(), config);
    expect(r.plan).toEqual(['claude-test', 'gpt-test', 'gemini-test']);
    expect(r.objective).toBeUndefined();
  });

  it('cost: the cheapest model at or above the floor first — not llama (quality 40 < 80), not the rule primary', () => {
    const r = route(task({ strategy: 'cost' }), config);
    expect(r.plan[0]).toBe('gemini-test'); // ties with gpt-test on price; higher quality wins the tie
    expect(r.plan).toEqual(['gemini-test', 'gpt-test', 'claude-test']);
    expect(r.plan).not.toContain('llama-test');
    expect(r.objective).toBe('cost');
    // The figures: each model's worst case and quality, and the floor.
    expect(r.reason).toMatch(
      /strategy cost, quality ≥ 80: gemini-test \$0\.0100\d+ \(quality 85\) > gpt-test \$0\.0100\d+ \(quality 80\) > claude-test \$0\.0150\d+ \(quality 90\)/,
    );
  });

  it('cost with a lower floor from the task takes the free local model', () => {
    const r = route(task({ strategy: 'cost', min_quality: 30 }), config);
    expect(r.plan[0]).toBe('llama-test');
    expect(r.reason).toContain('quality ≥ 30');
  });

  it('quality: the best model that fits and whose worst case fits max_per_request', () => {
    const r = route(task({ strategy: 'quality', task_type: 'simple' }), config);
    expect(r.plan[0]).toBe('claude-test'); // the simple rule starts on gpt-test
    expect(r.reason).toContain('claude-test quality 90');
    // Under a per-request cap that claude's worst case exceeds, the best model that fits it comes first.
    const capped = parseConfig({ ...rawWith({ cost_limits: { max_per_request: 0.012 } }) });
    const c = route(task({ strategy: 'quality', task_type: 'simple' }), capped);
    expect(c.plan[0]).toBe('gemini-test');
    expect(c.plan).not.toContain('claude-test');
  });

  it("a rule's strategy applies to its tasks", () => {
    const r = route(task({ task_type: 'simple' }), config);
    expect(r.objective).toBe('quality');
    expect(r.plan[0]).toBe('claude-test');
  });

  it('speed: the lowest measured p50 per output token first; unmeasured models after the measured ones', () => {
    const signals: ModelSignals = { 'claude-test': measured(2), 'gpt-test': measured(40) };
    const r = route(task({ strategy: 'speed' }), config, { signals });
    expect(r.plan).toEqual(['claude-test', 'gpt-test', 'gemini-test']);
    expect(r.reason).toContain('claude-test 2 ms/token p50 (20 calls) > gpt-test 40 ms/token p50 (20 calls)');
    expect(r.reason).toContain('gemini-test unmeasured');
    const flipped = route(task({ strategy: 'speed' }), config, {
      signals: { 'claude-test': measured(50), 'gpt-test': measured(3), 'gemini-test': measured(9) },
    });
    expect(flipped.plan).toEqual(['gpt-test', 'gemini-test', 'claude-test']);
  });

  it('speed ignores models with fewer calls than min_latency_samples', () => {
    const r = route(task({ strategy: 'speed' }), config, {
      signals: { 'gpt-test': measured(1, { samples: 2 }), 'gemini-test': measured(30) },
    });
    expect(r.plan[0]).toBe('gemini-test');
  });

  it('balanced: a weighted score of quality, cheapness and speed, with the figures', () => {
    // claude: best quality but dearest and slowest; gpt: cheap and fastest; gemini: cheap, quality 85, slow.
    const signals = { 'claude-test': measured(40), 'gpt-test': measured(2), 'gemini-test': measured(40) };
    const r = route(task({ strategy: 'balanced' }), config, { signals });
    expect(r.plan[0]).toBe('gpt-test');
    expect(r.reason).toMatch(
      /strategy balanced, quality ≥ 80: gpt-test score 0\.\d{3} \(quality 80, \$[\d.]+, 2 ms\/token/,
    );
    // With all weight on quality, balanced is the quality order.
    const q = parseConfig(rawWith({ routing: { balanced: { quality: 1, cost: 0, speed: 0 } } }));
    expect(route(task({ strategy: 'balanced' }), q, { signals }).plan[0]).toBe('claude-test');
  });

  it('a strategy never picks a model the input does not fit', () => {
    const long = 'x'.repeat(40_000); // ~10,000 tokens: llama-test (8,000) cannot hold it
    const r = route(task({ strategy: 'cost', min_quality: 0, context: long }), config);
    expect(r.plan).not.toContain('llama-test');
    expect(r.reason).toContain('1 other candidate(s) too small, below the floor or over max_per_request');
  });

  it('with a fallback_chain, the strategy orders the chain only', () => {
    const r = route(task({ strategy: 'cost', fallback_chain: ['claude-test', 'gpt-test'] }), config);
    expect(r.plan).toEqual(['gpt-test', 'claude-test']);
  });

  it('planTask starts the task on the strategy’s first model and estimates it there', () => {
    const p = planTask(task({ strategy: 'cost' }), config);
    if ('refused' in p) throw new Error(p.refused.message);
    expect(p.first).toBe('gemini-test');
    expect(p.calls?.map((c) => c.model)).toEqual(['gemini-test', 'gpt-test', 'claude-test']);
    expect(p.estimateMicros).toBe(p.calls?.[0]?.worstCaseMicros);
  });
});

describe('health', () => {
  it('an unhealthy model (open circuit) moves to the back of new plans; a probe keeps its place', () => {
    const open: ModelSignal = {
      samples: 0,
      outcomes: 10,
      errorRate: 1,
      circuit: 'open',
      openUntil: Date.now() + 30_000,
    };
    const r = route(task(), config, { signals: { 'claude-test': open } });
    expect(r.plan).toEqual(['gpt-test', 'gemini-test', 'claude-test']);
    expect(r.reason).toContain('unhealthy, moved last: claude-test (circuit open, 100% errors over 10 calls)');
    const halfOpen: ModelSignal = { ...open, circuit: 'half_open' };
    expect(route(task(), config, { signals: { 'claude-test': halfOpen } }).plan[0]).toBe('gpt-test');
    const probe = route(task(), config, { signals: { 'claude-test': { ...halfOpen, probe: true } } });
    expect(probe.plan[0]).toBe('claude-test');
    expect(probe.reason).toContain('claude-test probed after its circuit opened');
  });

  it('with health.enabled false the figures are kept but plans are as written', () => {
    const open: ModelSignal = { samples: 0, outcomes: 10, errorRate: 1, circuit: 'open' };
    const off = testConfig({ routing: { health: { enabled: false } } });
    expect(route(task(), off, { signals: { 'claude-test': open } }).plan[0]).toBe('claude-test');
  });

  it('a plan whose every model is unhealthy keeps its order', () => {
    const open: ModelSignal = { samples: 0, outcomes: 10, errorRate: 1, circuit: 'open' };
    const r = route(task({ fallback_chain: ['gpt-test', 'claude-test'] }), config, {
      signals: { 'gpt-test': open, 'claude-test': open },
    });
    expect(r.plan).toEqual(['gpt-test', 'claude-test']);
  });
});

describe('A/B variants', () => {
  const ab = parseConfig(
    rawWith({
      routing_rules: {
        code: {
          primary: 'claude-test',
          fallback: ['gpt-test'],
          variants: [
            { name: 'A', weight: 50, model: 'claude-test' },
            { name: 'B', weight: 50, model: 'gpt-test' },
          ],
        },
      },
    }),
  );

  it('a 50/50 rule over 200 task ids assigns 80–120 to each, by a stable hash', () => {
    const counts: Record<string, number> = { A: 0, B: 0 };
    for (let i = 0; i < 200; i++) {
      const p = planTask(task(), ab, { taskId: crypto.randomUUID() });
      if ('refused' in p) throw new Error(p.refused.message);
      const v = p.route.variant as string;
      counts[v] = (counts[v] ?? 0) + 1;
      expect(p.first).toBe(v === 'A' ? 'claude-test' : 'gpt-test');
    }
    expect(counts.A).toBeGreaterThanOrEqual(80);
    expect(counts.B).toBeGreaterThanOrEqual(80);
    expect((counts.A ?? 0) + (counts.B ?? 0)).toBe(200);
  });

  it('metadata.ab_key assigns the same variant every time, whatever the task id', () => {
    const first = planTask(task({ metadata: { ab_key: 'user-42' } }), ab);
    if ('refused' in first) throw new Error(first.refused.message);
    for (let i = 0; i < 20; i++) {
      const again = planTask(task({ metadata: { ab_key: 'user-42' } }), ab);
      if ('refused' in again) throw new Error(again.refused.message);
      expect(again.route.variant).toBe(first.route.variant);
    }
  });

  it('weights set the shares; a strategy variant plans by its strategy', () => {
    const variants: [Weighted, Weighted] = [
      { name: 'small', weight: 1 },
      { name: 'large', weight: 3 },
    ];
    let large = 0;
    for (let i = 0; i < 4000; i++) if (assignVariant(variants, 'code', String(i)).name === 'large') large++;
    expect(large / 4000).toBeGreaterThan(0.72);
    expect(large / 4000).toBeLessThan(0.78);
    const s = parseConfig(
      rawWith({
        routing_rules: {
          code: {
            primary: 'claude-test',
            fallback: ['gpt-test'],
            variants: [
              { weight: 1, strategy: 'cost' },
              { weight: 1, model: 'claude-test' },
            ],
          },
        },
      }),
    );
    let seen = false;
    for (let i = 0; i < 50 && !seen; i++) {
      const p = planTask(task(), s);
      if ('refused' in p) throw new Error(p.refused.message);
      if (p.route.variant === 'cost') {
        seen = true;
        expect(p.route.objective).toBe('cost');
        expect(p.route.reason).toContain('A/B variant cost; strategy cost');
      }
    }
    expect(seen).toBe(true);
  });

  it('a task with its own strategy is not part of the test', () => {
    const p = planTask(task({ strategy: 'quality' }), ab);
    if ('refused' in p) throw new Error(p.refused.message);
    expect(p.route.variant).toBeUndefined();
  });

  it('config errors name the key: variants need one of model or strategy, distinct names, known models', () => {
    const bad = (variants: unknown) => () =>
      parseConfig(rawWith({ routing_rules: { code: { primary: 'claude-test', variants } } }));
    expect(bad([{ weight: 1 }, { weight: 1, model: 'gpt-test' }])).toThrow(
      /routing_rules\.code\.variants\.0.*either model or strategy/s,
    );
    expect(
      bad([
        { weight: 1, model: 'gpt-test' },
        { weight: 2, model: 'gpt-test' },
      ]),
    ).toThrow(/variant names must differ/);
    expect(
      bad([
        { weight: 1, model: 'nope' },
        { weight: 2, model: 'gpt-test' },
      ]),
    ).toThrow(/unknown model "nope"/);
    expect(bad([{ weight: 1, model: 'gpt-test' }])).toThrow(/at least two variants/);
  });
});

function rawWith(over: Record<string, unknown>): Record<string, unknown> {
  // The same models and qualities as `config`, with sections replaced.
  const base = {
    orchestrator: { default_model: 'claude-test' },
    models: {
      'claude-test': {
        provider: 'anthropic',
        input_cost_per_1k: 0.003,
        output_cost_per_1k: 0.015,
        max_tokens: 200_000,
        quality: 90,
      },
      'gpt-test': {
        provider: 'openai',
        input_cost_per_1k: 0.00125,
        output_cost_per_1k: 0.01,
        max_tokens: 400_000,
        quality: 80,
      },
      'gemini-test': {
        provider: 'google',
        input_cost_per_1k: 0.00125,
        output_cost_per_1k: 0.01,
        max_tokens: 1_000_000,
        quality: 85,
      },
      'llama-test': { provider: 'ollama', input_cost_per_1k: 0, output_cost_per_1k: 0, max_tokens: 8_000, quality: 40 },
    },
    routing_rules: {
      code: { primary: 'claude-test', fallback: ['gpt-test', 'gemini-test'] },
      simple: { primary: 'gpt-test', fallback: ['gemini-test'] },
    },
  };
  return { ...base, ...over };
}
