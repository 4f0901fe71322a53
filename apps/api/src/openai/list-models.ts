import { isHealthy, type ModelSignal, type ModelSignals, type OrchexConfig, qualityOf, TASK_TYPES } from '@orchex/core';

/**
 * A model's measured health and latency as GET /v1/models shows it; `measured: false` when no call was recorded
 * lately (it counts as healthy), null when Redis could not be read.
 */
function healthView(signal: ModelSignal | undefined) {
  if (!signal) return { healthy: true, measured: false, circuit: 'closed' as const };
  return {
    healthy: isHealthy(signal),
    measured: true,
    circuit: signal.circuit,
    ...(signal.openUntil !== undefined ? { retry_at: new Date(signal.openUntil).toISOString() } : {}),
    error_rate: Math.round(signal.errorRate * 1000) / 1000,
    recent_calls: signal.outcomes,
    latency_samples: signal.samples,
    latency_p50_ms: signal.latencyP50Ms ?? null,
    latency_p95_ms: signal.latencyP95Ms ?? null,
    ms_per_output_token_p50: signal.msPerTokenP50 ?? null,
    ms_per_output_token_p95: signal.msPerTokenP95 ?? null,
  };
}

import type { ModelLimitState } from '@orchex/queue';
import { limitView } from '../limit-view.ts';

/**
 * OpenAI's model list: every configured model, every alias, orchex/auto and orchex/<task_type>. Each model carries
 * its quality, measured health (`orchex.health`) and live limit state (`orchex.limits`); the last two are null when
 * they could not be read (Redis down: the list itself needs no Redis).
 */
export function listModels(
  config: OrchexConfig,
  signals: ModelSignals | undefined,
  limits: readonly ModelLimitState[] | null = null,
) {
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
      quality: qualityOf(m),
      health: signals ? healthView(signals[id]) : null,
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
