import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig, loadConfigFile, parseConfig, planTask, route, taskInputSchema } from '../src/index.ts';

// The seed README's atlas_config.yaml, kept verbatim in the repo.
const SEED_CONFIG = new URL('../../../config/atlas_config.yaml', import.meta.url).pathname;
const task = (t: Record<string, unknown>) => taskInputSchema.parse(t);
// The seed README lives beside the repo on development machines only (../shared/seed.md), not in a clone elsewhere.
const SEED_README = new URL('../../../../shared/seed.md', import.meta.url);

describe("the seed's config and names", () => {
  it.skipIf(!existsSync(SEED_README))("the seed file is the seed README's, to the letter", () => {
    const seed = readFileSync(SEED_README, 'utf8');
    const block = /Create `atlas_config\.yaml`:\n\n```yaml\n([\s\S]*?)```/.exec(seed)?.[1];
    expect(block, 'the seed README has no atlas_config.yaml block').toBeDefined();
    expect(readFileSync(SEED_CONFIG, 'utf8')).toBe(block);
  });

  it('loads verbatim: providers inferred from the names, the undefined claude-haiku resolved through its alias', () => {
    const config = loadConfigFile(SEED_CONFIG);
    expect(config.models['claude-opus']).toMatchObject({ provider: 'anthropic', max_tokens: 200_000 });
    expect(config.models['gpt-4']).toMatchObject({ provider: 'openai', input_cost_per_1k: 0.03 });
    expect(config.models['gpt-3.5-turbo']?.provider).toBe('openai');
    // A seed name without a model_id stands for the current model of its tier.
    expect(config.models['gpt-4']?.model_id).toBe('gpt-5.5');
    expect(config.models['claude-opus']?.model_id).toBe('claude-opus-5-5');
    // claude-haiku is used by the simple rule but never defined: the alias brings in the current Haiku.
    expect(config.routing_rules.simple).toEqual({ primary: 'gpt-3.5-turbo', fallback: ['claude-haiku-4-5'] });
    expect(config.models['claude-haiku-4-5']).toMatchObject({ provider: 'anthropic', model_id: 'claude-haiku-4-5' });
    expect(config.orchestrator.default_model).toBe('claude-sonnet-4');
  });

  it("routes the seed's examples: its fallback chain of seed names, and a free-text task type", () => {
    const seed = loadConfigFile(SEED_CONFIG);
    const chain = route(
      task({ prompt: 'Complex reasoning task', fallback_chain: ['claude-opus', 'gpt-4', 'claude-sonnet'] }),
      seed,
    );
    // claude-opus and gpt-4 are models of the file; claude-sonnet names the current Sonnet, which the file's
    // claude-sonnet-4 stands for.
    expect(chain.plan).toEqual(['claude-opus', 'gpt-4', 'claude-sonnet-4']);
    expect(chain.reason).toContain('claude-sonnet → claude-sonnet-4');
    const explanation = route(
      task({ prompt: 'Explain quantum entanglement in simple terms', task_type: 'explanation' }),
      seed,
    );
    expect(explanation.taskType).toBe('explanation');
    expect(explanation.reason).toMatch(/task_type=explanation has no rule; classified as/);
  });

  it('on the built-in config, the seed names resolve to current models', () => {
    const config = loadConfig(undefined);
    const plan = route(task({ prompt: 'x', fallback_chain: ['claude-opus', 'gpt-4', 'claude-sonnet'] }), config).plan;
    expect(plan).toEqual(['claude-opus-5-5', 'gpt-5.5', 'claude-sonnet-5']);
  });

  it('a name that is neither a model nor an alias fails at start, naming it', () => {
    const doc = parseYaml(readFileSync(SEED_CONFIG, 'utf8')) as { routing_rules: { simple: { fallback: string[] } } };
    doc.routing_rules.simple.fallback = ['claude-bard'];
    expect(() => parseConfig(doc)).toThrow(/routing_rules\.simple\.fallback\.0: unknown model "claude-bard"/);
  });

  it('routing_rules take new task types, and a configured alias adds a name', () => {
    const config = parseConfig({
      orchestrator: { default_model: 'gpt-4' },
      aliases: { house: 'claude-sonnet' },
      routing_rules: { explanation: { primary: 'house', fallback: ['gpt-4'] } },
      models: { 'gpt-4': { max_tokens: 128_000, input_cost_per_1k: 0.03, output_cost_per_1k: 0.06 } },
    });
    expect(config.routing_rules.explanation).toEqual({ primary: 'claude-sonnet-5', fallback: ['gpt-4'] });
    const r = route(task({ prompt: 'why is the sky blue', task_type: 'explanation' }), config);
    expect(r.plan).toEqual(['claude-sonnet-5', 'gpt-4']);
    expect(route(task({ prompt: 'hi', fallback_chain: ['house'] }), config).plan).toEqual(['claude-sonnet-5']);
  });

  it("a model's max_output_tokens caps the call, and the estimate uses the capped figure", () => {
    const config = parseConfig({
      orchestrator: { default_model: 'small' },
      models: {
        small: {
          provider: 'openai',
          model_id: 'x',
          max_tokens: 100_000,
          max_output_tokens: 1000,
          input_cost_per_1k: 0,
          output_cost_per_1k: 1,
        },
      },
    });
    const planned = planTask(task({ prompt: 'hi', max_tokens: 50_000 }), config);
    if ('refused' in planned) throw new Error(planned.refused.message);
    expect(planned.estimateMicros).toBe(1000 * 1000); // 1,000 output tokens at $1/1K, not 50,000
  });
});
