import {
  buildPrompt,
  costMicros,
  estimateInputTokens,
  estimateTaskInputTokens,
  isTerminal,
  type ModelConfig,
  microsToUsd,
  ProviderError,
  worstCaseMicros,
} from '@orchex/core';
import type { TaskWithAttempts } from '@orchex/db';
import type { GenerateOptions, GenerateResult, LanguageModel } from '@orchex/providers';
import { DelayedError, type Job, RateLimitError, UnrecoverableError } from 'bullmq';
import { sendBudgetAlert } from '../budget/index.ts';
import { parseJob } from '../job-catalog.ts';
import { toModelLimits } from '../limits/index.ts';
import { decideAfterFailure } from './decide-after-failure.ts';
import { failTask, succeedTask } from './finish-task.ts';
import { reduceInput } from './reduce-part.ts';
import type { StepDeps, StepOutcome } from './step-deps.ts';

/**
 * Runs one step of a task: one call to the model of plan[step], as the ladder in docs/architecture.md reads —
 * load → reserve → mark running → acquire → call → record → finish, or decide → act. Delivery is at least once, so
 * every write is guarded (terminal tasks and stale steps are skipped, attempt rows are unique per task/step/attempt,
 * results are written only to non-terminal tasks).
 */
export async function executeStep(
  deps: StepDeps,
  queueModel: string,
  job: Job,
  token: string | undefined,
): Promise<StepOutcome> {
  const { config, logger } = deps;
  // 0. Load: the task at this step, unless it ended or moved on since the job was added.
  const { taskId, step } = parsePayload(job);
  const task = await deps.reader.load(taskId);
  if (!task) return handBack(deps, job, token, queueModel, { kind: 'end', reason: `task ${taskId} not found` });
  if (isTerminal(task.status)) return { outcome: 'skipped', why: 'terminal' };
  if (task.currentStep > step) return { outcome: 'skipped', why: 'stale' };
  const modelName = task.plan[step];
  const modelConfig = modelName === undefined ? undefined : config.models[modelName];
  const model = modelName === undefined ? undefined : deps.models.get(modelName);
  if (modelName !== queueModel || !modelConfig || !model) {
    const reason = `step ${step} of ${taskId} is for ${modelName}, which this queue (${queueModel}) cannot run`;
    return handBack(deps, job, token, queueModel, { kind: 'end', reason });
  }
  let prompt = buildPrompt(task.prompt, task.context);
  if (task.partKind === 'reduce') {
    const input = await reduceInput(deps, task);
    if (!input.ready && 'waitMs' in input)
      return handBack(deps, job, token, modelName, { kind: 'delay', ms: input.waitMs });
    if (!input.ready) {
      await failTask(deps, task, input.failed.error, input.failed.parentError);
      return handBack(deps, job, token, modelName, { kind: 'end', reason: 'a map part failed' });
    }
    prompt = input.prompt;
  }
  const attempt = job.attemptsStarted;
  const timeoutMs = (task.params.timeoutSec ?? config.orchestrator.timeout) * 1000;
  const maxTokens = task.params.maxTokens;
  // The same estimate as the API's pre-flight check (a real tokenizer for OpenAI models), for budget and tpm.
  const inputTokens = estimateInputTokens({ prompt, system: task.system }, modelConfig);
  const worstCase = worstCaseMicros(inputTokens, maxTokens, modelConfig);

  // 1. Reserve: hold the worst case in the daily budget before calling; a call that cannot fit never happens.
  const reservationId = `${taskId}.${step}.${attempt}`;
  // The hold outlives the call (which the timeout aborts) and its settlement; a dead worker's hold expires soon after.
  const hold = await deps.budget.reserve({ reservationId, amountMicros: worstCase, ttlMs: timeoutMs + 15_000 });
  if (!hold.ok) {
    const message =
      `daily budget exceeded: $${microsToUsd(hold.spentMicros)} spent + $${microsToUsd(hold.reservedMicros)} ` +
      `reserved of $${microsToUsd(hold.limitMicros)}; this call could cost up to $${microsToUsd(worstCase)}`;
    await failTask(deps, task, { kind: 'budget_exceeded', message });
    logger.warn({ taskId, step, model: modelName, outcome: 'budget_exceeded' }, 'attempt');
    return handBack(deps, job, token, modelName, { kind: 'end', reason: message });
  }
  const { day } = hold;

  // 2. Mark running; a stale re-delivery (another delivery moved the task on) stops here.
  if (!(await deps.steps.markRunning(taskId, step))) {
    await deps.budget.release(reservationId, { day });
    return { outcome: 'skipped', why: 'stale' };
  }

  // 3. Acquire a slot of the model's limits, global across workers, last, so the acquisition is as close as possible
  // to the request reaching the provider. When full, the whole queue waits (no job is failed).
  const lease = await deps.limiter.acquire(modelName, toModelLimits(modelConfig), {
    estimatedTokens: inputTokens + maxTokens,
    leaseMs: timeoutMs + 10_000,
    holder: deps.holder,
  });
  if (!lease.ok) {
    await deps.budget.release(reservationId, { day });
    return handBack(deps, job, token, modelName, { kind: 'pause-queue', ms: lease.retryInMs });
  }

  // 4. Call the provider through its SDK, with a deadline.
  const startedAt = new Date();
  const t0 = performance.now();
  const base = { taskId, step, attempt, model: modelName, provider: modelConfig.provider, startedAt };
  const call = await callModel(model, modelConfig, {
    prompt,
    system: task.system ?? undefined,
    maxOutputTokens: maxTokens,
    temperature: task.params.temperature,
    abortSignal: AbortSignal.timeout(timeoutMs),
  });
  const latencyMs = Math.round(performance.now() - t0);

  // 5. Record: give back the slot with the real tokens, settle the hold to the real cost, write the attempt.
  if (call.ok) {
    const { result } = call;
    const cost = costMicros(result.usage, modelConfig);
    const [, settled] = await Promise.all([
      deps.limiter.release(modelName, lease.leaseId, {
        actualTokens: result.usage.inputTokens.total + result.usage.outputTokens.total,
      }),
      deps.budget.settle(reservationId, cost, { day }),
    ]);
    if (settled.alertCrossed || hold.alertCrossed) void alert(deps, day, settled.spentMicros);
    const attemptRow = {
      ...base,
      outcome: 'succeeded' as const,
      usage: result.usage,
      inputTokens: result.usage.inputTokens.total,
      outputTokens: result.usage.outputTokens.total,
      costMicros: cost,
      latencyMs,
    };
    // 6. Finish: the task (and a reduce part's split task) succeeds and is announced.
    await succeedTask(deps, task, attemptRow, {
      model: modelName,
      resultText: result.content,
      finishReason: result.finishReason.unified,
      usage: result.usage,
    });
    logger.info(
      { taskId, step, attempt, model: modelName, outcome: 'succeeded', latencyMs, costMicros: cost },
      'attempt',
    );
    return { outcome: 'succeeded', model: modelName };
  }
  const { error } = call;
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

  // 6. Decide: the same model again, the next model of the plan, or the end of the task.
  const decision = decideAfterFailure(error, {
    tries: task.attempts.filter((a) => a.step === step && a.outcome === 'failed').length + 1,
    maxRetries: config.orchestrator.max_retries,
    enableFallback: config.orchestrator.enable_fallback,
    windows: task.plan.map((name) => config.models[name]?.max_tokens),
    step,
    neededTokens: neededTokens(task),
    backoffBaseMs: deps.backoffBaseMs,
  });
  switch (decision.action) {
    case 'retry':
      return handBack(deps, job, token, modelName, {
        kind: decision.pauseQueue ? 'pause-queue' : 'delay',
        ms: decision.delayMs,
      });
    case 'reroute': {
      const nextModel = task.plan[decision.nextStep] as string;
      // Job first, then the row: a crash in between re-runs this path, and the deterministic job id dedupes.
      // A part of a split task keeps its flow parent, so the reduce step waits for the re-routed step too.
      const parent = job.parent?.id ? { id: job.parent.id, queue: job.parent.queueKey } : undefined;
      await deps.queues.enqueueStep(taskId, decision.nextStep, nextModel, parent);
      await deps.steps.advance(taskId, step, decision.nextStep);
      logger.info({ taskId, from: modelName, to: nextModel, errorKind: error.kind }, 're-route');
      return handBack(deps, job, token, modelName, {
        kind: 'end',
        reason: `re-routed to ${nextModel} after ${error.kind}`,
      });
    }
    case 'fail':
      await failTask(deps, task, { kind: error.kind, message: `${modelName}: ${error.message}`.slice(0, 2000) });
      return handBack(deps, job, token, modelName, { kind: 'end', reason: `task failed: ${error.kind}` });
  }
}

/** How a step gives its job back to BullMQ when it did not succeed. */
type Handback =
  /** Run this job again after `ms` (backoff; a reduce waiting for a part). */
  | { kind: 'delay'; ms: number }
  /** The model's limits are full or the provider throttles it: its whole queue waits `ms`, this job included. */
  | { kind: 'pause-queue'; ms: number }
  /** Never run this job again (re-routed, the task ended, or the job is unusable). */
  | { kind: 'end'; reason: string };

/** The only place that throws BullMQ's control errors (bullmq keeps these signals at one boundary too). */
async function handBack(
  deps: StepDeps,
  job: Job,
  token: string | undefined,
  model: string,
  h: Handback,
): Promise<never> {
  switch (h.kind) {
    case 'delay':
      await job.moveToDelayed(Date.now() + h.ms, token);
      throw new DelayedError();
    case 'pause-queue':
      await deps.queues.get(model).rateLimit(h.ms);
      throw new RateLimitError();
    case 'end':
      throw new UnrecoverableError(h.reason);
  }
}

function parsePayload(job: Job) {
  try {
    return parseJob('step', job.data);
  } catch (err) {
    // A bad payload is a bug, never retried.
    throw new UnrecoverableError(`bad job payload: ${(err as Error).message}`);
  }
}

/** The call's result, or its failure as a ProviderError (a non-ProviderError, i.e. an adapter bug, counts as `server`). */
async function callModel(
  model: LanguageModel,
  modelConfig: ModelConfig,
  options: GenerateOptions,
): Promise<{ ok: true; result: GenerateResult } | { ok: false; error: ProviderError }> {
  try {
    return { ok: true, result: await model.doGenerate(options) };
  } catch (err) {
    const error =
      err instanceof ProviderError
        ? err
        : new ProviderError({
            provider: modelConfig.provider,
            model: model.modelName,
            kind: 'server',
            message: String(err),
            cause: err,
          });
    return { ok: false, error };
  }
}

/** Input + output tokens the task needs, provider-neutral: what a larger window must hold after context_length. */
function neededTokens(task: TaskWithAttempts): number {
  const estimate = estimateTaskInputTokens({
    prompt: task.prompt,
    context: task.context ?? undefined,
    system: task.system ?? undefined,
  });
  return estimate + task.params.maxTokens;
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
