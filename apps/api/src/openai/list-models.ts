import { type OrchexConfig, TASK_TYPES } from '@orchex/core';

/** OpenAI's model list: every configured model, every alias, orchex/auto and orchex/<task_type>. */
export function listModels(config: OrchexConfig) {
  const created = 0; // orchex has no creation dates; OpenAI's field is required
  const models = Object.entries(config.models).map(([id, m]) => ({
    id,
    object: 'model' as const,
    created,
    owned_by: m.provider,
    orchex: {
      provider: m.provider,
      model_id: m.model_id,
      context_window: m.max_tokens,
      max_output_tokens: m.max_output_tokens ?? m.max_tokens,
      input_cost_per_1k: m.input_cost_per_1k,
      output_cost_per_1k: m.output_cost_per_1k,
    },
  }));
  const aliases = Object.entries(config.aliases).map(([id, target]) => ({
    id,
    object: 'model' as const,
    created,
    owned_by: 'orchex',
    orchex: { alias_of: target },
  }));
  const types = [...new Set([...TASK_TYPES, ...Object.keys(config.routing_rules)])];
  const routes = ['auto', ...types].map((t) => ({
    id: `orchex/${t}`,
    object: 'model' as const,
    created,
    owned_by: 'orchex',
    orchex: { routes: t === 'auto' ? 'classified from the prompt' : `the ${t} rule` },
  }));
  return [...models, ...aliases, ...routes];
}
