import { type ModelConfig, type OrchexConfig, parseConfig } from '@orchex/core';

/** The one model every throughput, memory, concurrency and scale bench calls: limits far above what a bench reaches. */
export const BENCH_MODEL = 'bench-model';

/** The config as a file holds it (worker processes read it through ORCHEX_CONFIG). */
export const BENCH_CONFIG_SOURCE = {
  orchestrator: { default_model: BENCH_MODEL, timeout: 30 },
  models: {
    [BENCH_MODEL]: {
      provider: 'openai',
      model_id: BENCH_MODEL,
      input_cost_per_1k: 0.001,
      output_cost_per_1k: 0.002,
      max_tokens: 100_000,
      rpm: 10_000_000,
      // Above the 5,000 a worker process may run, so the model's own cap never is what a bench measures.
      max_concurrency: 10_000,
    },
  },
};

/** BENCH_CONFIG_SOURCE parsed, and its one model's config. */
export function benchConfig(): { config: OrchexConfig; model: ModelConfig } {
  const config = parseConfig(BENCH_CONFIG_SOURCE);
  const model = config.models[BENCH_MODEL];
  if (!model) throw new Error(`${BENCH_MODEL} missing from its own config`);
  return { config, model };
}
