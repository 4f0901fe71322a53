import type { ErrorKind, Usage } from '@orchex/core';
import { Counter, Histogram, type Registry } from 'prom-client';

/** Why a step was not run on its model without calling it. */
export type MoneyLimitKind = 'budget_exceeded' | 'cost_limit';

/** Which limit of the model made a step wait (the queue was paused for it). */
export type LimiterWaitReason = 'rpm' | 'concurrency' | 'tpm';

/**
 * What the step ladder counts, per model and provider. Every label value comes from the config (model, provider) or
 * a closed union (outcome, error kind, reason), so no label can hold a task id, a key or any user text.
 */
export interface StepMetrics {
  /** One provider call ended (succeeded, or failed with `errorKind`), `seconds` after it started. */
  call(model: string, provider: string, outcome: { errorKind?: ErrorKind }, seconds: number): void;
  /** A streamed call's first text arrived `seconds` after the call started. */
  firstToken(model: string, provider: string, seconds: number): void;
  /** Tokens and cost of a call (real usage, or the worst case for a call whose outcome is unknown). */
  spent(model: string, provider: string, usage: Usage | undefined, costMicros: number): void;
  /** The same model is called again after a failure of this kind. */
  retry(model: string, provider: string, errorKind: ErrorKind): void;
  /** The task moves from this model to the next of its plan, because of `reason`. */
  reroute(model: string, provider: string, reason: ErrorKind | MoneyLimitKind): void;
  /** A call was not made: it did not fit the daily budget (global or the key's) or max_per_request. */
  moneyLimit(model: string, provider: string, kind: MoneyLimitKind): void;
  /** The model's limits were full: the queue waits. */
  limiterWait(model: string, reason: LimiterWaitReason): void;
  /** A step met Postgres or Redis unreachable and was delayed (not an attempt). */
  outageDelay(dependency: string): void;
  /** The orphan sweep gave `count` stranded tasks a fresh job. */
  sweepReadds(count: number): void;
}

/** Call latency buckets, seconds: model calls take from a few hundred ms to minutes. */
const CALL_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300];
/** Time-to-first-token buckets, seconds. */
const TTFT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];

/** The worker's step metrics, registered on `registry` (one registry per process: API and workers may share one). */
export function createStepMetrics(registry: Registry): StepMetrics {
  const registers = [registry];
  const requests = new Counter({
    name: 'orchex_model_requests_total',
    help: 'Provider calls made, by outcome (succeeded | failed) and error kind (empty when succeeded).',
    labelNames: ['model', 'provider', 'outcome', 'error_kind'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'orchex_model_call_duration_seconds',
    help: 'Duration of provider calls, from the request to the full answer or the error.',
    labelNames: ['model', 'provider', 'outcome'] as const,
    buckets: CALL_BUCKETS,
    registers,
  });
  const ttft = new Histogram({
    name: 'orchex_model_time_to_first_token_seconds',
    help: 'Time from the request to the first text of a streamed call (stream: true tasks).',
    labelNames: ['model', 'provider'] as const,
    buckets: TTFT_BUCKETS,
    registers,
  });
  const tokens = new Counter({
    name: 'orchex_model_tokens_total',
    help: 'Tokens of provider calls by type: input, output, cache_read, cache_write (input includes the cache ones).',
    labelNames: ['model', 'provider', 'type'] as const,
    registers,
  });
  const cost = new Counter({
    name: 'orchex_model_cost_usd_total',
    help: 'Cost of provider calls in USD (worst case for calls whose outcome is unknown).',
    labelNames: ['model', 'provider'] as const,
    registers,
  });
  const retries = new Counter({
    name: 'orchex_model_retries_total',
    help: 'Failed calls followed by another call of the same model, by error kind.',
    labelNames: ['model', 'provider', 'error_kind'] as const,
    registers,
  });
  const reroutes = new Counter({
    name: 'orchex_model_reroutes_total',
    help: 'Tasks moved from this model to the next of their plan, by reason (an error kind or a money limit).',
    labelNames: ['model', 'provider', 'reason'] as const,
    registers,
  });
  const moneyLimits = new Counter({
    name: 'orchex_money_limit_refusals_total',
    help: 'Calls not made because their worst case did not fit the daily budget or max_per_request.',
    labelNames: ['model', 'provider', 'kind'] as const,
    registers,
  });
  const waits = new Counter({
    name: 'orchex_limiter_waits_total',
    help: "Steps that found the model's limits full (rpm, concurrency or tpm) and paused its queue.",
    labelNames: ['model', 'reason'] as const,
    registers,
  });
  const outages = new Counter({
    name: 'orchex_outage_delays_total',
    help: 'Steps delayed because Postgres or Redis was unreachable (not counted as attempts).',
    labelNames: ['dependency'] as const,
    registers,
  });
  const readds = new Counter({
    name: 'orchex_sweep_readds_total',
    help: 'Stranded tasks the orphan sweep gave a fresh job (or finished).',
    registers,
  });
  return {
    call(model, provider, { errorKind }, seconds) {
      const outcome = errorKind ? 'failed' : 'succeeded';
      requests.inc({ model, provider, outcome, error_kind: errorKind ?? '' });
      duration.observe({ model, provider, outcome }, seconds);
    },
    firstToken(model, provider, seconds) {
      ttft.observe({ model, provider }, seconds);
    },
    spent(model, provider, usage, costMicros) {
      if (usage) {
        tokens.inc({ model, provider, type: 'input' }, usage.inputTokens.total);
        tokens.inc({ model, provider, type: 'output' }, usage.outputTokens.total);
        tokens.inc({ model, provider, type: 'cache_read' }, usage.inputTokens.cacheRead);
        tokens.inc({ model, provider, type: 'cache_write' }, usage.inputTokens.cacheWrite);
      }
      cost.inc({ model, provider }, costMicros / 1e6);
    },
    retry(model, provider, errorKind) {
      retries.inc({ model, provider, error_kind: errorKind });
    },
    reroute(model, provider, reason) {
      reroutes.inc({ model, provider, reason });
    },
    moneyLimit(model, provider, kind) {
      moneyLimits.inc({ model, provider, kind });
    },
    limiterWait(model, reason) {
      waits.inc({ model, reason });
    },
    outageDelay(dependency) {
      outages.inc({ dependency });
    },
    sweepReadds(count) {
      if (count > 0) readds.inc(count);
    },
  };
}
