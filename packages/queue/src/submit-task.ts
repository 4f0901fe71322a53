import { SpanKind } from '@opentelemetry/api';
import { addLogContext, type Logger, logContext, type PlannedTask, safeErrorText } from '@orchex/core';
import {
  type BatchRow,
  type Db,
  deleteBatch,
  deleteSplitTask,
  deleteTask,
  findByIdempotencyKey,
  type InsertedParts,
  insertBatch,
  insertSplitTask,
  insertTask,
  type NewBatchTask,
  type NewParts,
  type NewTask,
  pgErrorCode,
  type TaskSummaryRow,
  type WithTextPieces,
} from '@orchex/db';
import type { ModelQueues } from './model-queues.ts';
import { taskParams } from './task-params.ts';
import { activeTraceparent, inSpan, traceIdOf, tracer } from './telemetry/task-trace.ts';

/** Tasks of a batch turned into rows between two yields to the event loop. */
const YIELD_EVERY = 500;

/** What the submitter needs; the API builds it once. */
export interface SubmitDeps {
  db: Db;
  queues: ModelQueues;
  logger: Logger;
  /** ORCHESTRATOR_DEBUG_ROUTING: log every task's plan and why (never its text). */
  debugRouting: boolean;
}

/** Who submits: the hashed API key id, and the client's idempotency key when given. */
export interface Submitter {
  apiKeyId: string;
  idempotencyKey?: string | null | undefined;
  /**
   * Hash of the canonical request, stored with the task or batch; a later submit with the same idempotency key and
   * another hash is refused with IdempotencyKeyReusedError. Unset = not compared.
   */
  requestHash?: string | null | undefined;
}

/** An idempotency key came back with a different request than the one it was first used for; the API answers 409. */
export class IdempotencyKeyReusedError extends Error {
  override readonly name = 'IdempotencyKeyReusedError';
  constructor(
    readonly idempotencyKey: string,
    /** The task or batch the key belongs to. */
    readonly existingId: string,
  ) {
    super(`idempotency_key "${idempotencyKey}" was already used for a different request (${existingId})`);
  }
}

/** The first submit's row when it was the same request; a different request with the same key throws. */
function replay<T extends { id: string; requestHash: string | null }>(who: Submitter, existing: T): T {
  // Rows from before request hashes were stored (null) cannot be compared, and are replayed as before.
  if (who.requestHash && existing.requestHash && existing.requestHash !== who.requestHash) {
    throw new IdempotencyKeyReusedError(who.idempotencyKey ?? '', existing.id);
  }
  return existing;
}

/**
 * Nothing was accepted: the rows were stored but the jobs could not be added, so the rows were removed again. The
 * API answers 503; a retry (with the same idempotency key) starts clean.
 */
export class NotAcceptedError extends Error {
  override readonly name = 'NotAcceptedError';
}

/**
 * The one way a task enters the system: insert its rows (a split task: the task and its parts, in one transaction),
 * then add its job (a split task: one flow). If adding fails, the rows are deleted and NotAcceptedError is thrown,
 * so a task is accepted exactly when both Postgres and Redis have it. With an idempotency key already used by the
 * same API key, the first task is returned (`created: false`) and nothing is added.
 */
export function submitTask(
  deps: SubmitDeps,
  planned: PlannedTask,
  who: Submitter,
): Promise<{ task: TaskSummaryRow; created: boolean }> {
  // The task's trace starts here: its steps, on whichever workers, are children of this span (see task-trace.ts).
  const span = tracer().startSpan('orchex submit', {
    kind: SpanKind.PRODUCER,
    attributes: { 'orchex.plan': planned.route.plan, 'orchex.task_type': planned.route.taskType ?? '' },
  });
  return inSpan(span, async () => {
    const traceparent = activeTraceparent();
    if (traceparent) addLogContext({ traceId: traceIdOf(traceparent) });
    const submitted = await insertAndEnqueue(deps, planned, who, traceparent);
    span.setAttributes({ 'orchex.task_id': submitted.task.id, 'orchex.created': submitted.created });
    return submitted;
  });
}

async function insertAndEnqueue(
  deps: SubmitDeps,
  planned: PlannedTask,
  who: Submitter,
  traceparent: string | undefined,
): Promise<{ task: TaskSummaryRow; created: boolean }> {
  logRouting(deps, planned);
  const idempotencyKey = who.idempotencyKey ?? null;
  const requestHash = idempotencyKey ? (who.requestHash ?? null) : null;
  const { row, parts } = taskRows(planned, who.apiKeyId, traceparent);
  if (!parts) {
    const { task, created } = await insertTask(deps.db, { ...row, idempotencyKey, requestHash });
    addLogContext({ taskId: task.id });
    if (!created) return { task: replay(who, task), created };
    await enqueueOrUndo(
      deps,
      () => deps.queues.enqueueStep(task.id, planned.firstStep, planned.first),
      () => deleteTask(deps.db, task.id),
    );
    return { task, created };
  }
  const existing = idempotencyKey ? await findByIdempotencyKey(deps.db, who.apiKeyId, idempotencyKey) : null;
  if (existing) return { task: replay(who, existing), created: false };
  let inserted: Awaited<ReturnType<typeof insertSplitTask>>;
  try {
    inserted = await insertSplitTask(deps.db, { ...row, idempotencyKey, requestHash }, parts);
  } catch (err) {
    // A concurrent submit with the same key won the unique index between our look-up and our insert.
    const winner =
      idempotencyKey && pgErrorCode(err) === '23505'
        ? await findByIdempotencyKey(deps.db, who.apiKeyId, idempotencyKey)
        : null;
    if (!winner) throw err;
    return { task: replay(who, winner), created: false };
  }
  const { parent, mapIds, reduceId } = inserted;
  addLogContext({ taskId: parent.id });
  await enqueueOrUndo(
    deps,
    () => enqueueParts(deps.queues, { reduceId, mapIds }, planned.first),
    () => deleteSplitTask(deps.db, parent.id),
  );
  return { task: parent, created: true };
}

/**
 * A batch, all or nothing: the batch row and every task (split ones with their parts) in one transaction, then one
 * bulk add per model queue and one flow per split task; if any add fails, the whole batch is deleted again.
 */
export async function submitBatch(
  deps: SubmitDeps,
  planned: readonly PlannedTask[],
  who: Submitter & { name: string | null },
): Promise<{ batch: BatchRow; created: boolean }> {
  // One span for the batch: its tasks' steps all continue this one trace.
  const span = tracer().startSpan('orchex submit batch', {
    kind: SpanKind.PRODUCER,
    attributes: { 'orchex.batch_size': planned.length },
  });
  return inSpan(span, () => insertAndEnqueueBatch(deps, planned, who, activeTraceparent()));
}

async function insertAndEnqueueBatch(
  deps: SubmitDeps,
  planned: readonly PlannedTask[],
  who: Submitter & { name: string | null },
  traceparent: string | undefined,
): Promise<{ batch: BatchRow; created: boolean }> {
  const tasks: NewBatchTask[] = [];
  for (const [i, p] of planned.entries()) {
    // 10,000 tasks' rows take ~70 ms to build on a loaded machine: let other requests in between.
    if (i > 0 && i % YIELD_EVERY === 0) await new Promise<void>((r) => setImmediate(r));
    logRouting(deps, p);
    const { row, parts } = taskRows(p, who.apiKeyId, traceparent);
    tasks.push(parts ? { ...row, parts } : row);
  }
  const inserted = await insertBatch(deps.db, {
    apiKeyId: who.apiKeyId,
    name: who.name,
    idempotencyKey: who.idempotencyKey ?? null,
    requestHash: who.idempotencyKey ? (who.requestHash ?? null) : null,
    tasks,
  });
  if (!inserted.created) return { batch: replay(who, inserted.batch), created: false };
  const at = (index: number) => planned[index] as PlannedTask;
  await enqueueOrUndo(
    deps,
    async () => {
      const single = inserted.tasks.filter((t) => !t.parts);
      await deps.queues.enqueueMany(
        single.map((t) => ({ taskId: t.id, step: at(t.index).firstStep, model: at(t.index).first })),
      );
      for (const t of inserted.tasks) {
        if (t.parts) await enqueueParts(deps.queues, t.parts, at(t.index).first);
      }
    },
    // Jobs that did get added find no task and end as failed jobs without calling a model.
    () => deleteBatch(deps.db, inserted.batch.id),
  );
  return { batch: inserted.batch, created: true };
}

/** A split task's flow: every part starts at step 0 on the plan's first model. */
function enqueueParts(queues: ModelQueues, parts: InsertedParts, model: string): Promise<void> {
  return queues.enqueueFlow(
    { taskId: parts.reduceId, model },
    parts.mapIds.map((taskId) => ({ taskId, model })),
  );
}

async function enqueueOrUndo(deps: SubmitDeps, enqueue: () => Promise<void>, undo: () => Promise<void>) {
  try {
    await enqueue();
  } catch (err) {
    // Not enqueued means not accepted: remove the rows so nothing sits queued forever and a retry starts clean.
    deps.logger.error({ err: safeErrorText(err) }, 'enqueue failed; submission undone');
    await undo().catch((e: unknown) =>
      deps.logger.error({ err: safeErrorText(e) }, 'undoing a failed submission failed'),
    );
    throw new NotAcceptedError('the task queue is unavailable; nothing was accepted, retry later');
  }
}

function logRouting(deps: SubmitDeps, planned: PlannedTask): void {
  if (!deps.debugRouting) return;
  const { plan, strategy, reason, objective, variant } = planned.route;
  deps.logger.info(
    {
      taskId: planned.id,
      plan,
      strategy,
      ...(objective ? { objective } : {}),
      ...(variant ? { variant } : {}),
      reason,
      ...(planned.split ? { parts: planned.split.chunks.length + 1 } : {}),
    },
    'routing',
  );
}

/**
 * The rows of a planned task. A split task starts `running` (its parts do the work) and carries its parts: one map
 * per chunk (the chunk as context, the map prompt, long_context.map_max_tokens of output) and a reduce that keeps
 * the user's prompt; the reduce's full prompt, with the maps' answers, is built when it runs.
 */
function taskRows(
  planned: PlannedTask,
  apiKeyId: string,
  traceparent?: string,
): { row: WithTextPieces<Omit<NewTask, 'idempotencyKey'>>; parts?: NewParts } {
  const { input, route, split } = planned;
  // The request's and the trace's ids go with the task, so every later log line and span of it can name them.
  const requestId = logContext().requestId;
  const traced = <P extends object>(params: P) => ({
    ...params,
    ...(traceparent ? { traceparent } : {}),
    ...(requestId ? { requestId } : {}),
  });
  const common = {
    apiKeyId,
    taskType: route.taskType ?? null,
    system: input.system ?? null,
    plan: route.plan,
  };
  // Only a task answered in one call is cached (the planner leaves split tasks out).
  const cacheTtlSec = split ? undefined : planned.cacheTtlSec;
  const row = {
    ...common,
    id: planned.id,
    variant: route.variant ?? null,
    prompt: input.prompt,
    messages: input.messages ?? null,
    context: input.context ?? null,
    params: traced({
      ...taskParams(input),
      ...(cacheTtlSec !== undefined ? { cacheTtlSec } : {}),
      // Unset for a split task: its parts' prompts are not the task's.
      ...(planned.calls ? { inputTokens: Object.fromEntries(planned.calls.map((c) => [c.model, c.inputTokens])) } : {}),
    }),
    routingReason: route.reason,
    estimatedCostMicros: planned.estimateMicros,
    currentStep: planned.firstStep,
    textPieces: planned.textPieces,
  };
  if (!split) return { row };
  // Parts carry the generation settings, not the caller's metadata or stream: the task's answer is the reduce's.
  const partParams = (maxTokens: number) => {
    const { metadata: _omit, stream: _parts, ...rest } = taskParams(input, maxTokens);
    return traced(rest);
  };
  const part = { ...common, variant: route.variant ?? null, routingReason: route.reason };
  return {
    row: {
      ...row,
      routingReason: `${route.reason}; input fits no model of the plan: split into ${split.chunks.length} map parts + 1 reduce`,
      status: 'running',
      startedAt: new Date(),
    },
    parts: {
      maps: split.chunks.map((chunk, i) => ({
        ...part,
        prompt: split.mapPrompt(i),
        context: chunk,
        params: partParams(split.mapMaxTokens),
      })),
      reduce: { ...part, prompt: input.prompt, context: null, params: partParams(input.max_tokens) },
    },
  };
}
