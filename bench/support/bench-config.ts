import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ModelConfig, type OrchexConfig, parseConfig } from '@orchex/core';

/** The one model every throughput, memory and concurrency bench calls: limits far above anything a bench reaches. */
export const BENCH_MODEL = 'bench-model';

/** The config source (as a file would hold it) and its parsed form; the file is for worker processes (ORCHEX_CONFIG). */
export interface BenchConfig {
  source: Record<string, unknown>;
  config: OrchexConfig;
  /** config.models[BENCH_MODEL]. */
  model: ModelConfig;
  /** A JSON file holding `source`. */
  path: string;
}

export function benchConfig(): BenchConfig {
  const source = {
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
  const path = join(tmpdir(), `orchex-bench-${process.pid}.json`);
  writeFileSync(path, JSON.stringify(source));
  const config = parseConfig(source);
  const model = config.models[BENCH_MODEL];
  if (!model) throw new Error(`${BENCH_MODEL} missing from its own config`);
  return { source, config, model, path };
}
