import { type OrchexConfig, TASK_TYPES } from '@orchex/core';
import type { ModelLimitState } from '@orchex/queue';
import { limitView } from '../limit-view.ts';

/**
 * OpenAI's model list: every configured model, every alias, orchex/auto and orchex/<task_type>. Each model carries
 * its live limit state (`orchex.limits`), or null when it could not be read (Redis down: the list itself needs no
 * Redis).
 */
export function listModels(config: OrchexConfig, limits: readonly ModelLimitState[] | null = null) {
  const byModel = new Map(limits?.map((s) => [s.model, limitView(s)]));
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
      limits: byModel.get(id) ?? null,
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
