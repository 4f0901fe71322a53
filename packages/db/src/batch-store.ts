import { randomUUID } from 'node:crypto';
import { TEXT_PIECE_CHARS, type TextPieces } from '@orchex/core';
import { and, asc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import type { Db } from './db.ts';
import { appendTextRests, cutLongTexts, type TextRest } from './long-text.ts';
import { type BatchRow, batches, type NewTask, type TaskRow, tasks } from './schema.ts';
import { sizedSlices } from './sized-slices.ts';
import { type InsertedParts, insertParts, type NewParts } from './split-task-store.ts';

/** Most rows per INSERT statement. */
export const BATCH_INSERT_CHUNK = 1000;
/**
 * Most characters of task text (prompt, context, system) per INSERT statement: its JSON parameter is built on the
 * caller's event loop, and 1,000 tasks of 6 KB (6 MB) took 50–100 ms to stringify on a loaded 2-core machine.
 */
export const BATCH_INSERT_CHARS = TEXT_PIECE_CHARS;

const textChars = (t: NewBatchTask) =>
  t.prompt.length +
  (t.context?.length ?? 0) +
  (t.system?.length ?? 0) +
  (t.messages?.reduce((n, m) => n + m.content.length, 0) ?? 0);

/** One task of a new batch; a task whose input fits no model of its plan comes with its parts (it starts running). */
export type NewBatchTask = Pick<
  NewTask,
  | 'taskType'
  | 'prompt'
  | 'messages'
  | 'context'
  | 'system'
  | 'params'
  | 'plan'
  | 'routingReason'
  | 'estimatedCostMicros'
  | 'status'
  | 'currentStep'
  | 'id'
  | 'variant'
> & { parts?: NewParts; textPieces?: TextPieces | undefined };

/** A new batch: its tasks in submission order (ids, batchId and batchIndex are set here). */
export interface NewBatch {
  apiKeyId: string;
  name: string | null;
  idempotencyKey: string | null;
  /** Hash of the canonical request, compared when the idempotency key comes back (see tasks.request_hash). */
  requestHash?: string | null;
  tasks: NewBatchTask[];
}

/** What to enqueue for each inserted task, in submission order: its first step, or its parts' flow. */
export interface InsertedBatchTask {
  id: string;
  index: number;
  plan: string[];
  parts?: InsertedParts;
}

/**
 * Inserts the batch row and all its task rows in ONE transaction with multi-row INSERTs, so a batch is either
 * wholly accepted or not at all. With an idempotency key already used by the same API key, inserts nothing and
 * returns the first batch (`created: false`, no tasks); the unique index makes concurrent submits safe.
 */
export async function insertBatch(
  db: Db,
  input: NewBatch,
): Promise<{ batch: BatchRow; created: true; tasks: InsertedBatchTask[] } | { batch: BatchRow; created: false }> {
  return db.transaction(async (tx) => {
    const [batch] = await tx
      .insert(batches)
      .values({
        apiKeyId: input.apiKeyId,
        name: input.name,
        idempotencyKey: input.idempotencyKey,
        requestHash: input.requestHash ?? null,
        size: input.tasks.length,
      })
      .onConflictDoNothing()
      .returning();
    if (!batch) {
      if (!input.idempotencyKey) throw new Error('batch insert conflicted without an idempotency key');
      // Read committed: this statement sees the concurrent winner, which committed before our insert gave way.
      const [existing] = await tx
        .select()
        .from(batches)
        .where(and(eq(batches.apiKeyId, input.apiKeyId), eq(batches.idempotencyKey, input.idempotencyKey)));
      if (!existing) throw new Error('idempotent batch vanished between insert and select');
      return { batch: existing, created: false as const };
    }
    const inserted: InsertedBatchTask[] = [];
    for (const [start, end] of sizedSlices(input.tasks, BATCH_INSERT_CHUNK, BATCH_INSERT_CHARS, textChars)) {
      const rests: Array<[string, TextRest]> = [];
      const chunk = input.tasks.slice(start, end).map((task, i) => {
        const { row: t, rest } = cutLongTexts(task);
        const id = t.id ?? randomUUID();
        if (rest.length) rests.push([id, rest]);
        return {
          id,
          batch_index: start + i,
          task_type: t.taskType ?? null,
          prompt: t.prompt,
          messages: t.messages ?? null,
          context: t.context ?? null,
          system: t.system ?? null,
          params: t.params,
          plan: t.plan,
          routing_reason: t.routingReason,
          estimated_cost_micros: t.estimatedCostMicros ?? 0,
          status: t.status ?? 'queued',
          current_step: t.currentStep ?? 0,
          variant: t.variant ?? null,
        };
      });
      // One JSON parameter per chunk instead of ~10 bound values per row: building and binding thousands of
      // parameters cost more than the insert itself (measured ~4x slower for 10,000 tasks).
      await tx.execute(sql`
        insert into ${tasks} (id, api_key_id, batch_id, batch_index, task_type, prompt, messages, context, system, params,
                              plan, routing_reason, estimated_cost_micros, status, current_step, variant, started_at)
        select r.id, ${input.apiKeyId}, ${batch.id}, r.batch_index, r.task_type, r.prompt, r.messages, r.context, r.system,
               r.params,
               r.plan, r.routing_reason, r.estimated_cost_micros, r.status, r.current_step, r.variant,
               case when r.status = 'running' then now() end
        from json_to_recordset(${JSON.stringify(chunk)}::json) as r(id uuid, batch_index integer, task_type text,
             prompt text, messages jsonb, context text, system text, params jsonb, plan jsonb, routing_reason text,
             estimated_cost_micros bigint, status text, current_step integer, variant text)`);
      for (const [id, rest] of rests) await appendTextRests(tx, id, rest);
      for (const r of chunk) inserted.push({ id: r.id, index: r.batch_index, plan: r.plan });
    }
    // Split tasks' parts carry no batch id: the batch counts and lists the tasks its client submitted.
    for (const t of inserted) {
      const parts = input.tasks[t.index]?.parts;
      if (parts) t.parts = await insertParts(tx, t.id, parts);
    }
    return { batch, created: true as const, tasks: inserted };
  });
}

/** Removes a batch that could not be enqueued (parts, tasks, then the batch; attempts cascade): a retry starts clean. */
export async function deleteBatch(db: Db, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(
      sql`delete from ${tasks} where parent_task_id in (select t.id from ${tasks} t where t.batch_id = ${id})`,
    );
    await tx.delete(tasks).where(eq(tasks.batchId, id));
    await tx.delete(batches).where(eq(batches.id, id));
  });
}

/** A batch with its progress: counts per status, cost so far and times, from one aggregate query. */
export interface BatchSummary {
  id: string;
  apiKeyId: string;
  name: string | null;
  size: number;
  createdAt: Date;
  cancelledAt: Date | null;
  counts: { queued: number; running: number; succeeded: number; failed: number; cancelled: number };
  costMicros: number;
  /** Earliest task start; null before any started. */
  startedAt: Date | null;
  /** Latest task finish once every task is terminal; null before. */
  finishedAt: Date | null;
}

const toDate = (v: unknown): Date | null =>
  v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v));

/** The batch's summary, or null; with `apiKeyId`, only when that key owns it. */
export async function findBatchSummary(db: Db, id: string, apiKeyId?: string): Promise<BatchSummary | null> {
  const owner = apiKeyId === undefined ? sql`true` : sql`b.api_key_id = ${apiKeyId}`;
  // Both drivers return bigint/count/timestamp aggregates as strings or Dates depending on type; normalised below.
  const res = await db.execute<Record<string, unknown>>(sql`
    select b.id, b.api_key_id, b.name, b.size, b.created_at, b.cancelled_at,
      count(t.id) filter (where t.status = 'queued') as queued,
      count(t.id) filter (where t.status = 'running') as running,
      count(t.id) filter (where t.status = 'succeeded') as succeeded,
      count(t.id) filter (where t.status = 'failed') as failed,
      count(t.id) filter (where t.status = 'cancelled') as cancelled,
      coalesce(sum(t.cost_micros), 0) as cost_micros,
      min(t.started_at) as started_at,
      max(t.finished_at) as finished_at
    from ${batches} b left join ${tasks} t on t.batch_id = b.id
    where b.id = ${id} and ${owner}
    group by b.id`);
  const r = res.rows[0];
  if (!r) return null;
  const counts = {
    queued: Number(r.queued),
    running: Number(r.running),
    succeeded: Number(r.succeeded),
    failed: Number(r.failed),
    cancelled: Number(r.cancelled),
  };
  const done = counts.queued === 0 && counts.running === 0;
  return {
    id: String(r.id),
    apiKeyId: String(r.api_key_id),
    name: (r.name as string | null) ?? null,
    size: Number(r.size),
    createdAt: toDate(r.created_at) as Date,
    cancelledAt: toDate(r.cancelled_at),
    counts,
    costMicros: Number(r.cost_micros),
    startedAt: toDate(r.started_at),
    finishedAt: done ? toDate(r.finished_at) : null,
  };
}

/** Whether the batch exists (and, with `apiKeyId`, belongs to that key). */
export async function batchVisible(db: Db, id: string, apiKeyId?: string): Promise<boolean> {
  const where = apiKeyId === undefined ? eq(batches.id, id) : and(eq(batches.id, id), eq(batches.apiKeyId, apiKeyId));
  const rows = await db.select({ id: batches.id }).from(batches).where(where);
  return rows.length > 0;
}

/** Up to `limit` tasks of a batch after position `afterIndex` (-1 = from the start), in submission order. */
export async function batchTasksPage(db: Db, id: string, afterIndex: number, limit: number): Promise<TaskRow[]> {
  return db
    .select()
    .from(tasks)
    .where(and(eq(tasks.batchId, id), gt(tasks.batchIndex, afterIndex)))
    .orderBy(asc(tasks.batchIndex))
    .limit(limit);
}

/** A task cancelled by cancelBatch, with what is needed to find its waiting job. */
export interface CancelledTask {
  id: string;
  plan: string[];
  currentStep: number;
}

/**
 * Cancels the batch's tasks that have not started (status `queued`) in one UPDATE and stamps the batch. A worker
 * that picks up such a task's job skips it (terminal), and TaskReader.claim refuses terminal tasks, so the race with a
 * starting worker has exactly one winner. Running tasks are left to finish.
 */
export async function cancelBatch(db: Db, id: string): Promise<CancelledTask[]> {
  return db.transaction(async (tx) => {
    await tx
      .update(batches)
      .set({ cancelledAt: sql`now()` })
      .where(and(eq(batches.id, id), isNull(batches.cancelledAt)));
    return tx
      .update(tasks)
      .set({
        status: 'cancelled',
        error: { kind: 'cancelled', message: 'the batch was cancelled before this task started' },
        finishedAt: sql`now()`,
        updatedAt: sql`now()`,
      })
      .where(and(eq(tasks.batchId, id), inArray(tasks.status, ['queued'])))
      .returning({ id: tasks.id, plan: tasks.plan, currentStep: tasks.currentStep });
  });
}
