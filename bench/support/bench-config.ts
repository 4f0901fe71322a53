import { type ModelConfig, type OrchexConfig, parseConfig } from '@orchex/core';

/** The one model every bench calls. */
export const BENCH_MODEL = 'bench-model';

/** The model's limits: by default far above what a bench reaches; bench:limits sets the ones it measures. */
export interface BenchLimits {
  rpm: number;
  max_concurrency: number;
}

const UNLIMITED: BenchLimits = {
  rpm: 10_000_000,
  // Above the 5,000 a worker process may run, so the model's own cap never is what a bench measures.
  max_concurrency: 10_000,
};

/** The config as a file holds it (worker processes read it through ORCHEX_CONFIG). */
export function benchConfigSource(limits: BenchLimits = UNLIMITED) {
  return {
    orchestrator: { default_model: BENCH_MODEL, timeout: 30 },
    models: {
      [BENCH_MODEL]: {
        provider: 'openai',
        model_id: BENCH_MODEL,
        input_cost_per_1k: 0.001,
        output_cost_per_1k: 0.002,
        max_tokens: 100_000,
        ...limits,
      },
    },
  };
}

/** benchConfigSource(limits) parsed, and its one model's config. */
export function benchConfig(limits?: BenchLimits): { config: OrchexConfig; model: ModelConfig } {
  const config = parseConfig(benchConfigSource(limits));
  const model = config.models[BENCH_MODEL];
  if (!model) throw new Error(`${BENCH_MODEL} missing from its own config`);
  return { config, model };
}
