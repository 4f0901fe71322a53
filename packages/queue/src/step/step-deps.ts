import type { Logger, OrchexConfig } from '@orchex/core';
import type { StepWriter, TaskReader } from '@orchex/db';
import type { LanguageModel } from '@orchex/providers';
import type { KeyBudgets } from '../budget/index.ts';
import type { ResultCache } from '../cache/result-cache.ts';
import type { ModelLimiter } from '../limits/index.ts';
import type { RedisClient } from '../limits/lua-command.ts';
import type { StepMetrics } from '../metrics/step-metrics.ts';
import type { ModelQueues } from '../model-queues.ts';
import type { SignalRecorder } from '../signals/index.ts';
import type { TaskStreams } from '../task-stream.ts';
import type { PendingAttempts } from './pending-attempts.ts';

/** Everything a step needs; built once per worker process (apps/worker's startWorkers). */
export interface StepDeps {
  config: OrchexConfig;
  /** Every write of the worker: hot ones group-committed set-wise, the rare ones plain. */
  steps: StepWriter;
  /** Batched task loads (one query per event-loop turn) and a split task's parts. */
  reader: TaskReader;
  queues: ModelQueues;
  /** The adapter of every model this process serves, built at start. */
  models: ReadonlyMap<string, LanguageModel>;
  redis: RedisClient;
  prefix: string;
  logger: Logger;
  /** Base of the exponential backoff between same-model retries. Default 1000 ms. */
  backoffBaseMs: number;
  /** rpm / in-flight / tpm per model, shared by every worker through Redis. */
  limiter: ModelLimiter;
  /** The daily budgets — global and each API key's — shared by every worker through Redis. */
  budget: KeyBudgets;
  /** ORCHEX_ALERT_WEBHOOK. */
  alertWebhook?: string | undefined;
  /** Names this process in limiter leases (host:pid). */
  holder: string;
  /**
   * How long a slot lease lives without a heartbeat: the job lock's duration. The running call renews it, so a
   * killed worker's slot comes back within this time, not the task's timeout. Default 30000 ms.
   */
  leaseMs: number;
  /** Attempts made but not yet written, kept in Redis while Postgres is unreachable. */
  pending: PendingAttempts;
  /** The per-task streams that `stream: true` tasks write their answers into as they arrive. */
  streams: TaskStreams;
  /** Each call's latency and outcome, for routing by speed and health (buffered, best effort). */
  signals: SignalRecorder;
  /** The exact-match result cache (tasks that opted in), shared by every worker through Redis. */
  cache: ResultCache;
  /** Counters and histograms of calls, tokens, cost, retries, re-routes and limit waits (the worker's /metrics). */
  metrics: StepMetrics;
}

/** How a step that did not throw ended. */
export type StepOutcome = { outcome: 'succeeded'; model: string } | { outcome: 'skipped'; why: 'terminal' | 'stale' };
