import {
  costMicros,
  estimateInputTokens,
  fillTemplate,
  type Logger,
  microsToUsd,
  type OrchexConfig,
  ProviderError,
  worstCaseMicros,
} from '@orchex/core';
import {
  advanceStep,
  completeTask,
  type Db,
  failTask,
  findParts,
  finishParent,
  recordAttempt,
  type StepWriter,
  type TaskReader,
  type TaskWithAttempts,
  TERMINAL_STATUSES,
} from '@orchex/db';
import type { LanguageModel } from '@orchex/providers';
import { DelayedError, type Job, RateLimitError, UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import { retryDelayMs } from './backoff.ts';
import type { BudgetLedger } from './budget/index.ts';
import { sendBudgetAlert } from './budget-alert.ts';
import { parseJob } from './job-catalog.ts';
import { type ModelLimiter, toModelLimits } from './limits/index.ts';
import type { ModelQueues } from './model-queues.ts';
import { nextStep } from './next-step.ts';
import { publishTaskFinished } from './task-events.ts';

/** Everything a step needs; built once per worker process. */
export interface StepDeps {
  config: OrchexConfig;
  db: Db;
  /** The hot writes (running, attempts, results), group-committed set-wise. */
  steps: StepWriter;
  /** Batched task loads (one query per event-loop turn). */
  reader: TaskReader;
  queues: ModelQueues;
  /** Cached adapter per model name. */
  model: (name: string) => LanguageModel;
  redis: Redis;
  prefix: string;
  logger: Logger;
  /** Base of the exponential backoff between same-model retries. Default 1000 ms. */
  backoffBaseMs: number;
  /** rpm / in-flight / tpm per model, shared by every worker through Redis. */
  limiter: ModelLimiter;
  /** The daily budget, shared by every worker through Redis. */
  budget: BudgetLedger;
  /** ORCHEX_ALERT_WEBHOOK. */
  alertWebhook?: string | undefined;
  /** Names this process in limiter leases (host:pid). */
  holder: string;
}

export type StepOutcome = { outcome: 'succeeded'; model: string } | { outcome: 'skipped'; why: 'terminal' | 'stale' };

/** The text sent to the model: the long context first, then the question about it. */
export function buildPrompt(prompt: string, context: string | null): string {
  return context ? `${context}\n\n${prompt}` : prompt;
}

/**
 * Runs one step of a task: one call to the model of plan[step]. Delivery is at least once, so every write is
 * guarded (terminal tasks and stale steps are skipped, attempt rows are unique per task/step/attempt, results are
 * written only to non-terminal tasks). On failure it retries on the same model (backoff ≥ the provider's hint; a
 * rate limit pauses the whole model queue), then re-routes to the next model of the plan, then fails the task.
 */
export async function executeStep(
  deps: StepDeps,
  queueModel: string,
  job: Job,
  token: string | undefined,
): Promise<StepOutcome> {
  const { config, db, logger } = deps;
  const parsed = (() => {
    try {
      return parseJob('step', job.data);
    } catch (err) {
      throw new UnrecoverableError(`bad job payload: ${(err as Error).message}`);
    }
  })();
  const { taskId, step } = parsed;
  const task = await deps.reader.load(taskId);
  if (!task) throw new UnrecoverableError(`task ${taskId} not found`);
  if ((TERMINAL_STATUSES as readonly string[]).includes(task.status)) return { outcome: 'skipped', why: 'terminal' };
  if (task.currentStep > step) return { outcome: 'skipped', why: 'stale' };
  const modelName = task.plan[step];
  if (modelName !== queueModel)
    throw new UnrecoverableError(`step ${step} of ${taskId} is for ${modelName}, not ${queueModel}`);
  const modelConfig = config.models[modelName];
  if (!modelConfig) throw new UnrecoverableError(`model ${modelName} is no longer configured`);

  const failedBefore = task.attempts.filter((a) => a.step === step && a.outcome === 'failed').length;
  const attempt = job.attemptsStarted;
  const timeoutMs = (task.params.timeoutSec ?? config.orchestrator.timeout) * 1000;
  const maxTokens = task.params.maxTokens;
  const prompt =
    task.partKind === 'reduce' ? await reducePrompt(deps, task, job, token) : buildPrompt(task.prompt, task.context);
  // The same estimate as the API's pre-flight check (a real tokenizer for OpenAI models), for budget and tpm.
  const inputTokens = estimateInputTokens({ prompt, system: task.system }, modelConfig);

  // 1. The daily budget: hold the worst case before calling; a call that cannot fit never happens.
  const reservationId = `${taskId}.${step}.${attempt}`;
  const reservation = await deps.budget.reserve({
    reservationId,
    amountMicros: worstCaseMicros(inputTokens, maxTokens, modelConfig),
    // Outlives the call (which the timeout aborts) and its settlement; a dead worker's hold expires soon after.
    ttlMs: timeoutMs + 15_000,
  });
  if (!reservation.ok) {
    const message =
      `daily budget exceeded: $${microsToUsd(reservation.spentMicros)} spent + $${microsToUsd(reservation.reservedMicros)} ` +
      `reserved of $${microsToUsd(reservation.limitMicros)}; this call could cost up to ` +
      `$${microsToUsd(worstCaseMicros(inputTokens, maxTokens, modelConfig))}`;
    await failTaskAndParent(deps, task, { kind: 'budget_exceeded', message });
    logger.warn({ taskId, step, model: modelName, outcome: 'budget_exceeded' }, 'attempt');
    throw new UnrecoverableError(message);
  }
  const day = reservation.day;
  if (!(await deps.steps.markRunning(taskId, step))) {
    await deps.budget.release(reservationId, { day });
    return { outcome: 'skipped', why: 'stale' };
  }

  // 2. The model's limits, global across workers, taken last so the acquisition time is as close as possible to
  // the request reaching the provider. When full, the whole queue waits (no job is failed).
  const lease = await deps.limiter.acquire(modelName, toModelLimits(modelConfig), {
    estimatedTokens: inputTokens + maxTokens,
    leaseMs: timeoutMs + 10_000,
    holder: deps.holder,
  });
  if (!lease.ok) {
    await deps.budget.release(reservationId, { day });
    await deps.queues.get(modelName).rateLimit(lease.retryInMs);
    throw new RateLimitError();
  }

  const startedAt = new Date();
  const t0 = performance.now();
  const base = { taskId, step, attempt, model: modelName, provider: modelConfig.provider, startedAt };

  let result: Awaited<ReturnType<LanguageModel['doGenerate']>>;
  try {
    result = await deps.model(modelName).doGenerate({
      prompt,
      system: task.system ?? undefined,
      maxOutputTokens: task.params.maxTokens,
      temperature: task.params.temperature,
      abortSignal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const error =
      err instanceof ProviderError
        ? err
        : new ProviderError({
            provider: modelConfig.provider,
            model: modelName,
            kind: 'server',
            message: String(err),
            cause: err,
          });
    const latencyMs = Math.round(performance.now() - t0);
    await Promise.all([
      deps.limiter.release(modelName, lease.leaseId, { actualTokens: inputTokens }),
      deps.budget.release(reservationId, { day }),
    ]);
    await deps.steps.recordAttempt({
      ...base,
      outcome: 'failed',
      errorKind: error.kind,
      errorMessage: error.message.slice(0, 2000),
      statusCode: error.statusCode ?? null,
      latencyMs,
    });
    logger.info(
      { taskId, step, attempt, model: modelName, outcome: 'failed', errorKind: error.kind, latencyMs },
      'attempt',
    );

    const tries = failedBefore + 1;
    if (error.isRetryable && tries <= config.orchestrator.max_retries) {
      const delay = retryDelayMs(tries, deps.backoffBaseMs, error.retryAfterMs);
      if (error.kind === 'rate_limited') {
        // The provider throttles the model for everyone: pause its whole queue so no worker hammers it.
        await deps.queues.get(modelName).rateLimit(delay);
        throw new RateLimitError();
      }
      await job.moveToDelayed(Date.now() + delay, token);
      throw new DelayedError();
    }

    const next = nextStep(task.plan, step, error.kind, config, { ...task, maxTokens: task.params.maxTokens });
    if (next !== undefined) {
      const nextModel = task.plan[next] as string;
      // Job first, then the row: a crash in between re-runs this path, and the deterministic job id dedupes.
      // A part of a split task keeps its flow parent, so the reduce step waits for the re-routed step too.
      const parent = job.parent?.id ? { id: job.parent.id, queue: job.parent.queueKey } : undefined;
      await deps.queues.enqueueStep(taskId, next, nextModel, parent);
      await advanceStep(db, taskId, step, next);
      logger.info({ taskId, from: modelName, to: nextModel, errorKind: error.kind }, 're-route');
      throw new UnrecoverableError(`re-routed to ${nextModel} after ${error.kind}`);
    }
    await failTaskAndParent(deps, task, { kind: error.kind, message: `${modelName}: ${error.message}`.slice(0, 2000) });
    throw new UnrecoverableError(`task failed: ${error.kind}`);
  }

  const latencyMs = Math.round(performance.now() - t0);
  const cost = costMicros(result.usage, modelConfig);
  const [, settled] = await Promise.all([
    deps.limiter.release(modelName, lease.leaseId, {
      actualTokens: result.usage.inputTokens.total + result.usage.outputTokens.total,
    }),
    deps.budget.settle(reservationId, cost, { day }),
  ]);
  if (settled.alertCrossed || reservation.alertCrossed) void alert(deps, day, settled.spentMicros);
  const attemptRow = {
    ...base,
    outcome: 'succeeded' as const,
    usage: result.usage,
    inputTokens: result.usage.inputTokens.total,
    outputTokens: result.usage.outputTokens.total,
    costMicros: cost,
    latencyMs,
  };
  const taskResult = {
    model: modelName,
    resultText: result.content,
    finishReason: result.finishReason.unified,
    usage: result.usage,
  };
  if (task.partKind === 'reduce' && task.parentTaskId) {
    // The reduce part's answer is the split task's answer; the parent's cost becomes the sum of its parts.
    const parentId = task.parentTaskId;
    // One transaction: a reduce recorded as done with its parent still running could never be finished later.
    await db.transaction(async (tx) => {
      await recordAttempt(tx, attemptRow);
      await completeTask(tx, taskId, taskResult);
      await finishParent(tx, parentId, {
        status: 'succeeded',
        model: modelName,
        resultText: result.content,
        finishReason: result.finishReason.unified,
      });
    });
  } else {
    await deps.steps.recordAttempt(attemptRow, taskResult);
  }
  logger.info(
    { taskId, step, attempt, model: modelName, outcome: 'succeeded', latencyMs, costMicros: cost },
    'attempt',
  );
  await publishTaskFinished(deps.redis, deps.prefix, taskId);
  if (task.partKind === 'reduce' && task.parentTaskId)
    await publishTaskFinished(deps.redis, deps.prefix, task.parentTaskId);
  return { outcome: 'succeeded', model: modelName };
}

async function alert(deps: StepDeps, day: string, spentMicros: number): Promise<void> {
  const threshold = deps.config.cost_limits.alert_threshold;
  if (threshold === undefined) return;
  const limit = await deps.budget.getLimit().catch(() => null);
  await sendBudgetAlert(
    {
      event: 'budget.alert_threshold_crossed',
      day,
      spent: microsToUsd(spentMicros),
      alert_threshold: threshold,
      limit: limit === null ? null : microsToUsd(limit),
    },
    deps.logger,
    deps.alertWebhook,
  );
}

/** Fails a task and, for a part of a split task, the task it belongs to; announces both. */
export async function failTaskAndParent(
  deps: StepDeps,
  task: TaskWithAttempts,
  error: { kind: string; message: string },
): Promise<void> {
  await failTask(deps.db, task.id, error);
  await publishTaskFinished(deps.redis, deps.prefix, task.id);
  if (task.parentTaskId) {
    const what = task.partKind === 'map' ? `part ${(task.partIndex ?? 0) + 1}` : 'the reduce part';
    await finishParent(deps.db, task.parentTaskId, {
      status: 'failed',
      error: { kind: error.kind, message: `${what} failed: ${error.message}` },
    });
    await publishTaskFinished(deps.redis, deps.prefix, task.parentTaskId);
  }
}

/**
 * The reduce part's prompt: the reduce template filled with every map part's answer, in chunk order. BullMQ runs
 * the reduce only after its children; a map part re-routed to another queue is a child too, but if one is still
 * not terminal (a race with its re-route) the reduce waits a second; a map part that failed fails the task.
 */
async function reducePrompt(
  deps: StepDeps,
  task: TaskWithAttempts,
  job: Job,
  token: string | undefined,
): Promise<string> {
  const maps = (await findParts(deps.db, task.parentTaskId as string)).filter((p) => p.partKind === 'map');
  if (maps.some((m) => !(TERMINAL_STATUSES as readonly string[]).includes(m.status))) {
    await job.moveToDelayed(Date.now() + 1000, token);
    throw new DelayedError();
  }
  const failed = maps.find((m) => m.status !== 'succeeded');
  if (failed) {
    const error = {
      kind: failed.error?.kind ?? 'server',
      message: failed.error?.message ?? `part ${(failed.partIndex ?? 0) + 1} did not succeed`,
    };
    await failTask(deps.db, task.id, error);
    await publishTaskFinished(deps.redis, deps.prefix, task.id);
    await finishParent(deps.db, task.parentTaskId as string, {
      status: 'failed',
      error: { kind: error.kind, message: `part ${(failed.partIndex ?? 0) + 1} failed: ${error.message}` },
    });
    await publishTaskFinished(deps.redis, deps.prefix, task.parentTaskId as string);
    throw new UnrecoverableError('a map part failed');
  }
  const notes = maps.map((m, i) => `Part ${i + 1}:\n${m.resultText ?? ''}`).join('\n\n');
  return fillTemplate(deps.config.long_context.reduce_prompt, { count: maps.length, prompt: task.prompt, notes });
}
