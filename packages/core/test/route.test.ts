import { describe, expect, it } from 'vitest';
import {
  classifyTask,
  DEFAULT_CONFIG_SOURCE,
  loadConfig,
  parseConfig,
  RoutingError,
  route,
  taskInputSchema,
} from '../src/index.ts';

const config = loadConfig(undefined);
const task = (t: Record<string, unknown>) => taskInputSchema.parse(t);

describe('route', () => {
  it.each([
    ['code', 'claude-sonnet-5'],
    ['research', 'gpt-5.5'],
    ['analysis', 'claude-sonnet-5'],
    ['creative', 'gpt-5.5'],
    ['simple', 'gpt-5.4-mini'],
    ['long_context', 'gemini-3.1-pro-preview'],
  ])('task_type %s → %s first, with fallbacks', (type, model) => {
    const r = route(task({ prompt: 'hello there', task_type: type }), config);
    expect(r.plan[0]).toBe(model);
    expect(r.plan.length).toBeGreaterThan(1);
    expect(r.strategy).toBe('task_type_rule');
  });

  it('an explicit fallback_chain wins over the rule', () => {
    const r = route(task({ prompt: 'x', task_type: 'code', fallback_chain: ['claude-opus-5-5', 'gpt-5.5'] }), config);
    expect(r.plan).toEqual(['claude-opus-5-5', 'gpt-5.5']);
    expect(r.strategy).toBe('explicit_chain');
  });

  it('an unknown model in fallback_chain is a RoutingError naming the index', () => {
    expect(() => route(task({ prompt: 'x', fallback_chain: ['gpt-5.5', 'gpt-9'] }), config)).toThrow(RoutingError);
    try {
      route(task({ prompt: 'x', fallback_chain: ['gpt-5.5', 'gpt-9'] }), config);
    } catch (e) {
      expect((e as RoutingError).field).toBe('fallback_chain.1');
    }
  });

  it('classifies a prompt without task_type and says so', () => {
    const r = route(task({ prompt: 'Write a Python function to calculate fibonacci' }), config);
    expect(r.taskType).toBe('code');
    expect(r.strategy).toBe('classified_rule');
    expect(r.reason).toMatch(/classified as code/);
    expect(route(task({ prompt: 'Capital of France?' }), config).taskType).toBe('simple');
  });

  it('falls back to default_model when nothing matches', () => {
    const prompt = 'Please help me with the following matter that I have been thinking about for quite some time now';
    const r = route(task({ prompt }), config);
    expect(r.plan).toEqual([config.orchestrator.default_model]);
    expect(r.strategy).toBe('default_model');
  });

  it('moves models whose window is too small behind those that fit', () => {
    const context = 'word '.repeat(250_000); // ~1.25M chars ≈ 312K tokens
    const r = route(task({ prompt: 'Summarise', task_type: 'code', context }), config);
    expect(r.plan[0]).not.toBe('claude-sonnet-5');
    expect(r.reason).toMatch(/window too small/);
  });

  it('enable_fallback=false keeps only the first model', () => {
    const c = structuredClone(DEFAULT_CONFIG_SOURCE) as any;
    c.orchestrator.enable_fallback = false;
    const r = route(task({ prompt: 'x', task_type: 'code' }), parseConfig(c));
    expect(r.plan).toEqual(['claude-sonnet-5']);
  });

  it('classification heuristic order', () => {
    expect(classifyTask('```ts\nconst a = 1\n``` why does this fail', 10).type).toBe('code');
    expect(classifyTask('Write a short story about AI', 10).type).toBe('creative');
    expect(classifyTask('Summarize recent advances in quantum computing', 10).type).toBe('research');
    expect(classifyTask('x', 60_000).type).toBe('long_context');
  });
});
