import {
  costMicros,
  estimateTaskInputTokens,
  findModel,
  lastUserText,
  microsToUsd,
  type ProviderError,
  safeErrorText,
  toProviderError,
  unavailableDependency,
  usdToMicros,
  withFields,
} from '@orchex/core';
import type { NewAttempt, TaskWithAttempts } from '@orchex/db';
import type { GenerateOptions, GenerateResult, LanguageModel } from '@orchex/providers';
import { DelayedError, type Job, RateLimitError, UnrecoverableError, WaitingChildrenError } from 'bullmq';
import { sendBudgetAlert } from '../budget/index.ts';
import { toModelLimits } from '../limits/index.ts';
import type { TaskStreams } from '../task-stream.ts';
import { inCallSpan, inStepSpan } from '../telemetry/step-spans.ts';
import { traceIdOf } from '../telemetry/task-trace.ts';
import { type CacheFill, cacheRung } from './cache-step.ts';
import { decideAfterFailure, type FailureDecision } from './decide-after-failure.ts';
import { failTask, succeedTask } from './finish-task.ts';
import { type Handback, handBack } from './hand-back.ts';
import { settleHoldAndSlot, takeHoldAndSlot } from './hold-and-slot.ts';
import { loadStep, type StepRun } from './load-step.ts';
import type { PendingAttempt } from './pending-attempts.ts';
import type { StepDeps, StepOutcome } from './step-deps.ts';

/**
 * Runs one step of a task — one call to the model of plan[step] — as the ladder in docs/architecture.md reads:
 * claim → reserve → acquire → call → record → finish, or decide and hand the job back. Delivery is at
 * least once, so every write is guarded (terminal tasks and stale steps are skipped, attempt rows are unique per
 * task/step/attempt, results are written only to non-terminal tasks).
 *
 * Infrastructure failures are not task failures: while Postgres or Redis is unreachable the job is delayed with a
 * capped backoff, for as long as the outage lasts, and never spends the task's retries or reaches the failed set.
 * Any other unexpected error leaves with a safe text (no SQL, no data) for BullMQ's failure reason.
 */
export async function executeStep(
  deps: StepDeps,
  queueModel: string,
  job: Job,
  token: string | undefined,
): Promise<StepOutcome> {
  try {
    return await climb(deps, queueModel, job, token);
  } catch (err) {
    if (isControlError(err)) throw err;
    const dependency = unavailableDependency(err);
    const taskId = (job.data as { taskId?: unknown }).taskId;
    if (dependency) {
      deps.metrics.outageDelay(dependency);
      const ms = outageDelayMs(job.attemptsStarted);
      deps.logger.warn({ taskId, dependency, retryInMs: ms }, 'dependency unavailable; step delayed');
      return handBack(deps.queues, job, token, queueModel, { kind: 'delay', ms });
    }
    const text = safeErrorText(err);
    deps.logger.error({ taskId, err: text }, 'step failed unexpectedly');
    throw new Error(text);
  }
}

async function climb(jobDeps: StepDeps, queueModel: string, job: Job, token: string | undefined): Promise<StepOutcome> {
  const back = (model: string, h: Handback) => handBack(jobDeps.queues, job, token, model, h);
  // 0. Claim the task at this step — read it and mark it running — or skip it (it ended or moved on); write what an
  // earlier run could not.
  const loaded = await loadStep(jobDeps, queueModel, job);
  if ('skipped' in loaded) return loaded.skipped;
  if ('handBack' in loaded) return back(queueModel, loaded.handBack);
  let { run } = loaded;
  // From here the step's log lines also carry the ids of the request that submitted the task and of its trace.
  const { requestId, traceparent } = run.task.params;
  const deps = { ...jobDeps, logger: withFields(jobDeps.logger, { requestId, traceId: traceIdOf(traceparent) }) };
  if (run.mayHavePending) {
    const resumed = await writePending(deps, run);
    if (resumed === 'succeeded') return { outcome: 'succeeded', model: run.modelName };
    if (resumed === 'written') {
      const again = await loadStep(deps, queueModel, job); // the task's attempts changed
      if (!('run' in again)) return 'skipped' in again ? again.skipped : back(queueModel, again.handBack);
      run = again.run;
    }
  }
  // 0b. The result cache: a hit ends the task here, $0, before any hold or slot; a miss of an identical request
  // that another step is answering waits for that answer (no retry spent).
  const cache = await cacheRung(deps, run, job);
  if (cache.kind === 'hit') return { outcome: 'succeeded', model: run.modelName };
  if (cache.kind === 'wait') return back(queueModel, { kind: 'delay', ms: cache.ms });
  const fill = cache.kind === 'fill' ? cache.fill : undefined;
  const ready = run;
  try {
    return await inStepSpan(ready, job, () => callStep(deps, ready, job, back, fill));
  } finally {
    // However this step ended without storing an answer (a failure, a limit, a hand-back), the next waiter fills.
    if (fill && !fill.stored) await deps.cache.release(fill.hash, fill.token).catch(() => {});
  }
}

/** Rungs 1–5 for a claimed step, inside its span: limits on money, acquire, call, record, finish. */
async function callStep(
  deps: StepDeps,
  run: StepRun,
  job: Job,
  back: (model: string, h: Handback) => Promise<never>,
  fill: CacheFill | undefined,
): Promise<StepOutcome> {
  const { task, step, modelName } = run;
  const reservationId = `${task.id}.${step}.${run.attempt}`;

  // 1. Limits on money. A call whose worst case is over cost_limits.max_per_request is not made: the task moves on to
  // the next model of its plan whose call fits (retries and re-routes are checked like the first call).
  const perCall = deps.config.cost_limits.max_per_request;
  if (perCall !== undefined && run.worstCaseMicros > usdToMicros(perCall)) {
    const why = `worst case $${microsToUsd(run.worstCaseMicros)} over cost_limits.max_per_request $${perCall}`;
    return back(modelName, await skipStep(deps, run, job, usdToMicros(perCall), { kind: 'cost_limit', why }));
  }
  // Reserve and 2. acquire: hold the worst case in the daily budgets, so a call that cannot fit never happens, and
  // take a slot of the model's limits, global across workers — one Redis call, as close as possible to the request
  // reaching the provider (the task was marked running by its claim, rung 0). The hold outlives the call (which the
  // timeout aborts) and its settlement; a dead worker's hold expires soon after. A refused slot leaves no hold, and
  // when the model's limits are full the whole queue waits (no job is failed).
  const taken = await takeHoldAndSlot(
    deps,
    task.apiKeyId,
    { reservationId, amountMicros: run.worstCaseMicros, ttlMs: run.timeoutMs + 15_000 },
    { model: modelName, limits: toModelLimits(run.modelConfig), estimatedTokens: run.inputTokens + run.maxTokens },
  );
  if (!taken.held) {
    const { hold } = taken;
    const remaining = Math.max(0, hold.limitMicros - hold.spentMicros - hold.reservedMicros);
    const whose = hold.scope === 'key' ? "this API key's daily budget" : 'daily budget';
    const why =
      `${whose} exceeded: $${microsToUsd(hold.spentMicros)} spent + $${microsToUsd(hold.reservedMicros)} ` +
      `reserved of $${microsToUsd(hold.limitMicros)}; this call could cost up to $${microsToUsd(run.worstCaseMicros)}`;
    return back(modelName, await skipStep(deps, run, job, remaining, { kind: 'budget_exceeded', why }));
  }
  const { hold, lease } = taken;
  if (!lease.ok) {
    deps.metrics.limiterWait(modelName, lease.reason);
    return back(modelName, { kind: 'pause-queue', ms: lease.retryInMs });
  }

  // 3. Call the provider through its SDK, with a deadline; the slot's lease is renewed while the call runs.
  const startedAt = new Date();
  const t0 = performance.now();
  const heartbeat = setInterval(
    () => void deps.limiter.extend(modelName, lease.leaseId, deps.leaseMs).catch(() => {}),
    Math.max(1000, Math.floor(deps.leaseMs / 3)),
  );
  // The deadline as a timer cleared when the call ends: AbortSignal.timeout's timer (and what it holds) would live
  // on until the deadline — up to a day per task — long after the call. Same reason as it gives: a TimeoutError.
  const deadline = new AbortController();
  const deadlineTimer = setTimeout(
    () => deadline.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    run.timeoutMs,
  );
  const request = { maxTokens: run.maxTokens, temperature: task.params.temperature, topP: task.params.topP };
  const call = await inCallSpan(run, { ...request, stream: task.params.stream === true }, () =>
    (task.params.stream ? streamModel(deps, run) : callModel)(run.model, {
      prompt: lastUserText(run.messages),
      messages: run.messages,
      topP: task.params.topP,
      stop: task.params.stop,
      system: task.system ?? undefined,
      maxOutputTokens: run.maxTokens,
      temperature: task.params.temperature,
      abortSignal: deadline.signal,
    }),
  ).finally(() => {
    clearInterval(heartbeat);
    clearTimeout(deadlineTimer);
  });
  const provider = run.modelConfig.provider;
  deps.metrics.call(
    modelName,
    provider,
    call.ok ? {} : { errorKind: call.error.kind },
    (performance.now() - t0) / 1000,
  );
  const attempt: AttemptBase = {
    taskId: task.id,
    step,
    attempt: run.attempt,
    model: modelName,
    provider: run.modelConfig.provider,
    startedAt,
    latencyMs: elapsed(t0),
    maxTokens: run.maxTokens,
  };
  const held: Held = { reservationId, day: hold.day, alertCrossed: hold.alertCrossed, leaseId: lease.leaseId };

  if (call.ok) deps.signals.succeeded(modelName, attempt.latencyMs, call.result.usage.outputTokens.total);
  else deps.signals.failed(modelName, call.error.kind);
  if (call.ok) {
    // 4. Record and 5. finish: the task (and a reduce part's split task) succeeds and is announced.
    await recordSuccess(deps, run, held, attempt, call.result, fill);
    return { outcome: 'succeeded', model: modelName };
  }
  // 4. Record the failed attempt, then 5. decide: the same model again, the next model of the plan, or the end.
  await recordFailure(deps, run, held, attempt, call.error);
  const decision = decideAfterFailure(call.error, {
    tries: task.attempts.filter((a) => a.step === step && a.outcome === 'failed').length + 1,
    maxRetries: deps.config.orchestrator.max_retries,
    maxRetryAfterMs: deps.config.orchestrator.max_retry_after * 1000,
    enableFallback: deps.config.orchestrator.enable_fallback,
    windows: task.plan.map((name) => findModel(deps.config, name)?.max_tokens),
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
type AttemptBase = Pick<
  NewAttempt,
  'taskId' | 'step' | 'attempt' | 'model' | 'provider' | 'startedAt' | 'latencyMs' | 'maxTokens'
>;

/** Gives back the slot with the real tokens, settles the hold to the real cost, and succeeds the task. */
async function recordSuccess(
  deps: StepDeps,
  run: StepRun,
  held: Held,
  attempt: AttemptBase,
  result: GenerateResult,
  fill: CacheFill | undefined,
): Promise<void> {
  const { usage } = result;
  const cost = costMicros(usage, run.modelConfig);
  deps.metrics.spent(run.modelName, run.modelConfig.provider, usage, cost);
  // Stored before the task's write, so identical waiting tasks are answered without waiting for Postgres. A cache
  // that cannot be written costs a later call, never this answer. Only complete answers (or ones cut at max_tokens,
  // which is in the key) are kept: a filtered or errored ending is not worth serving again for the TTL.
  if (fill && (result.finishReason.unified === 'stop' || result.finishReason.unified === 'length')) {
    const answer = { model: run.modelName, resultText: result.content, finishReason: result.finishReason.unified };
    fill.stored = await deps.cache
      .put(fill.hash, fill.token, { ...answer, usage, costMicros: cost }, fill.ttlMs)
      .catch((err: unknown) => {
        deps.logger.warn({ taskId: run.task.id, err: safeErrorText(err) }, 'result cache not written');
        return false;
      });
  }
  const tokens = usage.inputTokens.total + usage.outputTokens.total;
  const settled = await settleHoldAndSlot(deps, run.task.apiKeyId, run.modelName, held, cost, tokens);
  if (settled.alertCrossed || held.alertCrossed) void alert(deps, held.day, settled.spentMicros);
  const row: NewAttempt = {
    ...attempt,
    outcome: 'succeeded',
    usage,
    inputTokens: usage.inputTokens.total,
    outputTokens: usage.outputTokens.total,
    costMicros: cost,
  };
  const answer = { model: run.modelName, resultText: result.content, finishReason: result.finishReason.unified, usage };
  await writeOrKeep(deps, run, { row, result: answer }, () => succeedTask(deps, run.task, row, answer));
  logAttempt(deps, attempt, { outcome: 'succeeded', costMicros: cost });
}

/**
 * Gives back the slot and the hold and records the failed attempt. When the provider may have processed the call
 * (outcome unknown: a deadline mid-call, a connection lost after sending, an unreadable answer), the hold is settled
 * at the worst case instead of released, and the attempt is recorded at that cost, marked as estimated.
 */
async function recordFailure(
  deps: StepDeps,
  run: StepRun,
  held: Held,
  attempt: AttemptBase,
  error: ProviderError,
): Promise<void> {
  const estimated = error.outcomeUnknown;
  const cost = estimated ? run.worstCaseMicros : 0;
  const tokens = run.inputTokens + (estimated ? run.maxTokens : 0);
  if (estimated) deps.metrics.spent(run.modelName, run.modelConfig.provider, undefined, cost);
  if (estimated) await settleHoldAndSlot(deps, run.task.apiKeyId, run.modelName, held, cost, tokens);
  else {
    await Promise.all([
      deps.limiter.release(run.modelName, held.leaseId, { actualTokens: tokens }),
      deps.budget.release(run.task.apiKeyId, held.reservationId, held.day),
    ]);
  }
  const row: NewAttempt = {
    ...attempt,
    outcome: 'failed',
    errorKind: error.kind,
    errorMessage: error.message.slice(0, 2000),
    statusCode: error.statusCode ?? null,
    costMicros: cost,
    costEstimated: estimated,
  };
  await writeOrKeep(deps, run, { row }, () => deps.steps.recordAttempt(row));
  logAttempt(deps, attempt, { outcome: 'failed', errorKind: error.kind, ...(estimated ? { costMicros: cost } : {}) });
}

/**
 * Writes an attempt that was made — and may have been paid for. If Postgres is unreachable the attempt (with its
 * answer) is kept in Redis first, then the outage error goes on (the job is delayed); the next run of this step
 * writes it instead of calling the model again.
 */
async function writeOrKeep(deps: StepDeps, run: StepRun, item: PendingAttempt, write: () => Promise<unknown>) {
  try {
    await write();
  } catch (err) {
    if (unavailableDependency(err) !== 'postgres') throw err;
    await deps.pending.keep(run.modelName, item);
    throw err;
  }
}

/**
 * Writes the attempts an earlier run of this step made but could not write (Postgres was down): 'succeeded' when
 * one of them was the answer — the task ends without a new call — 'written' when they were failures only.
 */
async function writePending(deps: StepDeps, run: StepRun): Promise<'none' | 'written' | 'succeeded'> {
  const items = await deps.pending.list(run.modelName, run.task.id, run.step);
  if (items.length === 0) return 'none';
  let answered = false;
  for (const { row, result } of items) {
    if (result && !answered) {
      await succeedTask(deps, run.task, row, result);
      answered = true;
    } else await deps.steps.recordAttempt(row);
  }
  await deps.pending.clear(run.modelName, run.task.id, run.step);
  deps.logger.info(
    { taskId: run.task.id, step: run.step, attempts: items.length, answered },
    'pending attempts written',
  );
  return answered ? 'succeeded' : 'written';
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
  const provider = run.modelConfig.provider;
  switch (decision.action) {
    case 'retry':
      deps.metrics.retry(modelName, provider, error.kind);
      return { kind: decision.pauseQueue ? 'pause-queue' : 'delay', ms: decision.delayMs };
    case 'reroute':
      deps.metrics.reroute(modelName, provider, error.kind);
      return moveToStep(deps, run, job, decision.nextStep, error.kind);
    case 'fail':
      await failTask(deps, task, { kind: error.kind, message: `${modelName}: ${error.message}`.slice(0, 2000) });
      return { kind: 'end', reason: `task failed: ${error.kind}` };
  }
}

/**
 * Re-routes to step `next`: its job first, then the row (a crash in between re-runs this path, and the deterministic
 * job id dedupes). A part of a split task keeps its flow parent, so the reduce step waits for the re-routed step too.
 * `note`, when given, is added to the task's routing reason (why a model was skipped without a call).
 */
async function moveToStep(
  deps: StepDeps,
  run: StepRun,
  job: Job,
  next: number,
  because: string,
  note?: string,
): Promise<Handback> {
  const nextModel = run.task.plan[next] as string;
  const parent = job.parent?.id ? { id: job.parent.id, queue: job.parent.queueKey } : undefined;
  await deps.queues.enqueueStep(run.task.id, next, nextModel, parent);
  await deps.steps.advance(run.task.id, run.step, next, note);
  deps.logger.info({ taskId: run.task.id, from: run.modelName, to: nextModel, because }, 're-route');
  return { kind: 'end', reason: `re-routed to ${nextModel} after ${because}` };
}

/**
 * This step's call would break a money limit (max_per_request, or what is left of the daily budget): it is not made.
 * The task moves to the next model of its plan whose worst case fits under `maxMicros` — the step skipped is recorded
 * in its routing reason — and fails with `limit.kind` only when no remaining model fits.
 */
async function skipStep(
  deps: StepDeps,
  run: StepRun,
  job: Job,
  maxMicros: number,
  limit: { kind: 'cost_limit' | 'budget_exceeded'; why: string },
): Promise<Handback> {
  const { task, step, modelName } = run;
  deps.logger.warn({ taskId: task.id, step, model: modelName, outcome: limit.kind }, 'attempt');
  deps.metrics.moneyLimit(modelName, run.modelConfig.provider, limit.kind);
  const next = deps.config.orchestrator.enable_fallback
    ? task.plan.findIndex((name, i) => i > step && (run.worstCaseOn(name) ?? Number.POSITIVE_INFINITY) <= maxMicros)
    : -1;
  if (next > step) {
    deps.metrics.reroute(modelName, run.modelConfig.provider, limit.kind);
    return moveToStep(deps, run, job, next, limit.kind, `step ${step} ${modelName} skipped: ${limit.why}`);
  }
  const none = task.plan.length > step + 1 ? '; no later model of the plan fits either' : '';
  await failTask(deps, task, { kind: limit.kind, message: `${modelName}: ${limit.why}${none}` });
  return { kind: 'end', reason: `task failed: ${limit.kind}` };
}

/** The call's result, or its failure as a ProviderError (see toProviderError: plugins' errors carry a kind). */
async function callModel(
  model: LanguageModel,
  options: GenerateOptions,
): Promise<{ ok: true; result: GenerateResult } | { ok: false; error: ProviderError }> {
  try {
    return { ok: true, result: await model.doGenerate(options) };
  } catch (err) {
    return { ok: false, error: toProviderError(err, model.provider, model.modelName) };
  }
}

/**
 * The call of a `stream: true` task: the SDK's stream, each text delta appended to the task's Redis stream as it
 * arrives (in order, without waiting on each write), the finish part as the result. A failure is reported in the
 * stream too — whether some text of this attempt was already in it — then handled like any failed call.
 */
const streamModel =
  (deps: StepDeps, run: StepRun) =>
  async (
    model: LanguageModel,
    options: GenerateOptions,
  ): Promise<{ ok: true; result: GenerateResult } | { ok: false; error: ProviderError }> => {
    const taskId = run.task.id;
    const t0 = performance.now();
    const writes: Array<Promise<void>> = [];
    const tell = (event: Parameters<TaskStreams['append']>[1]) =>
      writes.push(deps.streams.append(taskId, event).catch(() => {}));
    let sent = false;
    let result: GenerateResult | undefined;
    try {
      // doStream resolves once the first text arrived: a failure before it rejects here, with nothing streamed.
      for await (const part of await model.doStream(options)) {
        if (part.type === 'text-delta') {
          if (!sent) deps.metrics.firstToken(run.modelName, run.modelConfig.provider, (performance.now() - t0) / 1000);
          sent = true;
          tell({ type: 'delta', attempt: run.attempt, model: run.modelName, text: part.text });
        } else {
          const { type: _finish, ...finished } = part;
          result = finished;
        }
      }
      if (!result) throw new Error('the stream ended without a finish part');
      await Promise.all(writes);
      return { ok: true, result };
    } catch (err) {
      const error = toProviderError(err, model.provider, model.modelName);
      tell({
        type: 'attempt-failed',
        attempt: run.attempt,
        model: run.modelName,
        afterOutput: sent,
        errorKind: error.kind,
      });
      await Promise.all(writes);
      return { ok: false, error };
    }
  };

const elapsed = (t0: number) => Math.round(performance.now() - t0);

/** BullMQ's own signals (thrown by handBack) pass through untouched. */
function isControlError(err: unknown): boolean {
  return (
    err instanceof DelayedError ||
    err instanceof RateLimitError ||
    err instanceof UnrecoverableError ||
    err instanceof WaitingChildrenError
  );
}

/** Delay of a step that met an outage: 1 s doubling per run of the job, capped at 15 s, with jitter. */
function outageDelayMs(runs: number): number {
  const exp = Math.min(15_000, 1000 * 2 ** Math.min(4, Math.max(0, runs - 1)));
  return Math.ceil(exp / 2 + Math.random() * (exp / 2));
}

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
  const limit = await deps.budget.global.getLimit().catch(() => null);
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
