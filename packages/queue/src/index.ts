export * from './budget/index.ts';
export { type CachedAnswer, ResultCache, type ResultCacheLimits } from './cache/result-cache.ts';
export { type CacheKeyInput, resultCacheKey } from './cache/result-cache-key.ts';
export { logConnectionError } from './connection-error-log.ts';
export * from './job-catalog.ts';
export * from './limits/index.ts';
export * from './metrics/index.ts';
export * from './model-queues.ts';
export * from './queue-name.ts';
export * from './redis-connection.ts';
export * from './schedule-retention.ts';
export * from './signals/index.ts';
export {
  decideAfterFailure,
  type FailureContext,
  type FailureDecision,
  retryDelayMs,
} from './step/decide-after-failure.ts';
export { executeStep } from './step/execute-step.ts';
export { PendingAttempts } from './step/pending-attempts.ts';
export { reconcileFailedJob } from './step/reconcile-failed-job.ts';
export type { StepDeps, StepOutcome } from './step/step-deps.ts';
export * from './submit-task.ts';
export * from './sweep-orphans.ts';
export * from './task-events.ts';
export * from './task-params.ts';
export * from './task-stream.ts';
export * from './telemetry/index.ts';
