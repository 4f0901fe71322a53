import type { ModelConfig } from '@orchex/core';

/** A model's limits as the provider counts them, held across every worker. */
export interface ModelLimits {
  /** Requests started in any window span (60 s by default), wherever it starts. */
  rpm: number;
  /** Calls in flight at once. */
  maxConcurrency: number;
  /** Tokens (estimated before, settled after) in any window span; unset = unlimited. */
  tpm?: number;
}

/** The limits of a configured model (`rpm`, `max_concurrency`, `tpm`). */
export function toModelLimits(model: Pick<ModelConfig, 'rpm' | 'max_concurrency' | 'tpm'>): ModelLimits {
  return model.tpm === undefined
    ? { rpm: model.rpm, maxConcurrency: model.max_concurrency }
    : { rpm: model.rpm, maxConcurrency: model.max_concurrency, tpm: model.tpm };
}
