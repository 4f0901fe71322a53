import { costMicros, estimateTaskInputTokens, microsToUsd, ProviderError } from '@orchex/core';
import type { NewAttempt, TaskWithAttempts } from '@orchex/db';
import type { GenerateOptions, GenerateResult, LanguageModel } from '@orchex/providers';
import type { Job } from 'bullmq';
import { type ReserveResult, sendBudgetAlert } from '../budget/index.ts';
import { toModelLimits } from '../limits/index.ts';
import { decideAfterFailure, type FailureDecision } from './decide-after-failure.ts';
import { failTask, succeedTask } from './finish-task.ts';
import { type Handback, handBack } from './hand-back.ts';
import { loadStep, type StepRun } from './load-step.ts';
import type { StepDeps, StepOutcome } from './step-deps.ts';

/**
 * Runs one step of a task — one call to the model of plan[step] — as the ladder in docs/architecture.md reads:
 * load → reserve → mark running → acquire → call → record → finish, or decide and hand the job back. Delivery is at
 * least once, so every write is guarded (terminal tasks and stale steps are skipped, attempt rows are unique per
 * task/step/attempt, results are written only to non-terminal tasks).
 */
export async function executeStep(
  deps: StepDeps,
  queueModel: string,
  job: Job,
  token: string | undefined,
): Promise<StepOutcome> {
  const back = (model: string, h: Handback) => handBack(deps.queues, job, token, model, h);
  // 0. Load the task at this step (or skip it: it ended or moved on).
  const loaded = await loadStep(deps, queueModel, job);
  if ('skipped' in loaded) return loaded.skipped;
  if ('handBack' in loaded) return back(queueModel, loaded.handBack);
  const { run } = loaded;
  const { task, step, modelName } = run;
  const reservationId = `${task.id}.${step}.${run.attempt}`;

  // 1. Reserve: hold the worst case in the daily budget before calling; a call that cannot fit never happens.
  // The hold outlives the call (which the timeout aborts) and its settlement; a dead worker's hold expires soon after.
  const hold = await deps.budget.reserve({
    reservationId,
    amountMicros: run.worstCaseMicros,
    ttlMs: run.timeoutMs + 15_000,
  });
  if (!hold.ok) return back(modelName, await refuseOverBudget(deps, run, hold));
  const release = () => deps.budget.release(reservationId, { day: hold.day });

  // 2. Mark running; a stale re-delivery (another delivery moved the task on) stops here.
  if (!(await deps.steps.markRunning(task.id, step))) {
    await release();
    return { outcome: 'skipped', why: 'stale' };
  }

  // 3. Acquire a slot of the model's limits, global across workers, last, so the acquisition is as close as possible
  // to the request reaching the provider. When full, the whole queue waits (no job is failed).
  const lease = await deps.limiter.acquire(modelName, toModelLimits(run.modelConfig), {
    estimatedTokens: run.inputTokens + task.params.maxTokens,
    leaseMs: run.timeoutMs + 10_000,
    holder: deps.holder,
  });
  if (!lease.ok) {
    await release();
    return back(modelName, { kind: 'pause-queue', ms: lease.retryInMs });
  }

  // 4. Call the provider through its SDK, with a deadline.
  const startedAt = new Date();
  const t0 = performance.now();
  const call = await callModel(run.model, {
    prompt: run.prompt,
    system: task.system ?? undefined,
    maxOutputTokens: task.params.maxTokens,
    temperature: task.params.temperature,
    abortSignal: AbortSignal.timeout(run.timeoutMs),
  });
  const attempt: AttemptBase = {
    taskId: task.id,
    step,
    attempt: run.attempt,
    model: modelName,
    provider: run.modelConfig.provider,
    startedAt,
    latencyMs: elapsed(t0),
  };
  const held: Held = { reservationId, day: hold.day, alertCrossed: hold.alertCrossed, leaseId: lease.leaseId };

  if (call.ok) {
    // 5. Record and 6. finish: the task (and a reduce part's split task) succeeds and is announced.
    await recordSuccess(deps, run, held, attempt, call.result);
    return { outcome: 'succeeded', model: modelName };
  }
  // 5. Record the failed attempt, then 6. decide: the same model again, the next model of the plan, or the end.
  await recordFailure(deps, run, held, attempt, call.error);
  const decision = decideAfterFailure(call.error, {
    tries: task.attempts.filter((a) => a.step === step && a.outcome === 'failed').length + 1,
    maxRetries: deps.config.orchestrator.max_retries,
    enableFallback: deps.config.orchestrator.enable_fallback,
    windows: task.plan.map((name) => deps.config.models[name]?.max_tokens),
    step,
    neededTokens: neededTokens(task),
    backoffBaseMs: deps.backoffBaseMs,
  });
  return back(modelName, await act(deps, run, job, call.error, decision));
}

/** What a call holds until it is recorded: its budget hold and its slot. */
interface Held {
  reservationId: string;
  day: string;
  alertCrossed: boolean;
  leaseId: string;
}

/** The fields every attempt row has. */
type AttemptBase = Pick<NewAttempt, 'taskId' | 'step' | 'attempt' | 'model' | 'provider' | 'startedAt' | 'latencyMs'>;

/** Gives back the slot with the real tokens, settles the hold to the real cost, and succeeds the task. */
async function recordSuccess(
  deps: StepDeps,
  run: StepRun,
  held: Held,
  attempt: AttemptBase,
  result: GenerateResult,
): Promise<void> {
  const { usage } = result;
  const cost = costMicros(usage, run.modelConfig);
  const [, settled] = await Promise.all([
    deps.limiter.release(run.modelName, held.leaseId, {
      actualTokens: usage.inputTokens.total + usage.outputTokens.total,
    }),
    deps.budget.settle(held.reservationId, cost, { day: held.day }),
  ]);
  if (settled.alertCrossed || held.alertCrossed) void alert(deps, held.day, settled.spentMicros);
  await succeedTask(
    deps,
    run.task,
    {
      ...attempt,
      outcome: 'succeeded',
      usage,
      inputTokens: usage.inputTokens.total,
      outputTokens: usage.outputTokens.total,
      costMicros: cost,
    },
    { model: run.modelName, resultText: result.content, finishReason: result.finishReason.unified, usage },
  );
  logAttempt(deps, attempt, { outcome: 'succeeded', costMicros: cost });
}

/** Gives back the slot (the input was sent) and the whole hold (nothing was billed), and records the attempt. */
async function recordFailure(
  deps: StepDeps,
  run: StepRun,
  held: Held,
  attempt: AttemptBase,
  error: ProviderError,
): Promise<void> {
  await Promise.all([
    deps.limiter.release(run.modelName, held.leaseId, { actualTokens: run.inputTokens }),
    deps.budget.release(held.reservationId, { day: held.day }),
  ]);
  await deps.steps.recordAttempt({
    ...attempt,
    outcome: 'failed',
    errorKind: error.kind,
    errorMessage: error.message.slice(0, 2000),
    statusCode: error.statusCode ?? null,
  });
  logAttempt(deps, attempt, { outcome: 'failed', errorKind: error.kind });
}

/** Carries out a failure decision's writes and says how to hand the job back. */
async function act(
  deps: StepDeps,
  run: StepRun,
  job: Job,
  error: ProviderError,
  decision: FailureDecision,
): Promise<Handback> {
  const { task, step, modelName } = run;
  switch (decision.action) {
    case 'retry':
      return { kind: decision.pauseQueue ? 'pause-queue' : 'delay', ms: decision.delayMs };
    case 'reroute': {
      const nextModel = task.plan[decision.nextStep] as string;
      // Job first, then the row: a crash in between re-runs this path, and the deterministic job id dedupes.
      // A part of a split task keeps its flow parent, so the reduce step waits for the re-routed step too.
      const parent = job.parent?.id ? { id: job.parent.id, queue: job.parent.queueKey } : undefined;
      await deps.queues.enqueueStep(task.id, decision.nextStep, nextModel, parent);
      await deps.steps.advance(task.id, step, decision.nextStep);
      deps.logger.info({ taskId: task.id, from: modelName, to: nextModel, errorKind: error.kind }, 're-route');
      return { kind: 'end', reason: `re-routed to ${nextModel} after ${error.kind}` };
    }
    case 'fail':
      await failTask(deps, task, { kind: error.kind, message: `${modelName}: ${error.message}`.slice(0, 2000) });
      return { kind: 'end', reason: `task failed: ${error.kind}` };
  }
}

/** The daily budget cannot hold this call's worst case: the task fails with budget_exceeded, and no call is made. */
async function refuseOverBudget(
  deps: StepDeps,
  run: StepRun,
  hold: Extract<ReserveResult, { ok: false }>,
): Promise<Handback> {
  const message =
    `daily budget exceeded: $${microsToUsd(hold.spentMicros)} spent + $${microsToUsd(hold.reservedMicros)} ` +
    `reserved of $${microsToUsd(hold.limitMicros)}; this call could cost up to $${microsToUsd(run.worstCaseMicros)}`;
  await failTask(deps, run.task, { kind: 'budget_exceeded', message });
  deps.logger.warn(
    { taskId: run.task.id, step: run.step, model: run.modelName, outcome: 'budget_exceeded' },
    'attempt',
  );
  return { kind: 'end', reason: message };
}

/** The call's result, or its failure as a ProviderError (anything else, i.e. an adapter bug, counts as `server`). */
async function callModel(
  model: LanguageModel,
  options: GenerateOptions,
): Promise<{ ok: true; result: GenerateResult } | { ok: false; error: ProviderError }> {
  try {
    return { ok: true, result: await model.doGenerate(options) };
  } catch (err) {
    if (err instanceof ProviderError) return { ok: false, error: err };
    const init = { provider: model.provider, model: model.modelName, kind: 'server' as const };
    return { ok: false, error: new ProviderError({ ...init, message: String(err), cause: err }) };
  }
}

const elapsed = (t0: number) => Math.round(performance.now() - t0);

/** One JSON log line per attempt: ids, model, latency and outcome — never prompt or answer text. */
function logAttempt(deps: StepDeps, a: AttemptBase, outcome: Record<string, unknown>): void {
  const { taskId, step, attempt, model, latencyMs } = a;
  deps.logger.info({ taskId, step, attempt, model, latencyMs, ...outcome }, 'attempt');
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
