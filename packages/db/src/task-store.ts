import { type TaskError, type TaskStatus, TERMINAL_STATUSES } from '@orchex/core';
import { and, asc, eq, inArray, notInArray, sql } from 'drizzle-orm';
import type { Db } from './create-database.ts';
import { appendTextRests, cutLongTexts, type WithTextPieces } from './long-text.ts';
import { preparedFor, UNNAMED } from './prepared.ts';
import {
  type AttemptRow,
  attempts,
  costRollups,
  type NewAttempt,
  type NewTask,
  type TaskRow,
  tasks,
} from './schema.ts';
import { completeTasks, recordAttempts, type StepResult } from './set-wise-writes.ts';
import { type TaskSummaryRow, taskSummaryColumns } from './task-summary.ts';

/** A task with its attempts in order (step, then attempt). */
export type TaskWithAttempts = TaskRow & { attempts: AttemptRow[] };

/** A task without its input text, with its attempts in order: what GET /v1/tasks/:id shows. */
export type TaskSummaryWithAttempts = TaskSummaryRow & { attempts: AttemptRow[] };

const notTerminal = notInArray(tasks.status, [...TERMINAL_STATUSES]);

/**
 * Inserts a task; with an idempotency key already used by the same API key, returns the first task instead
 * (`created: false`). The unique index makes this safe under concurrent submits. Returns the row without its input
 * text (the caller has it).
 */
export async function insertTask(
  db: Db,
  row: WithTextPieces<NewTask>,
): Promise<{ task: TaskSummaryRow; created: boolean }> {
  // Long texts go in pieces (see TEXT_PIECE_CHARS), in one transaction so no task is ever seen half-written.
  const { row: head, rest } = cutLongTexts(row);
  const insert = async (tx: Db) => {
    const [task] = await tx.insert(tasks).values(head).onConflictDoNothing().returning(taskSummaryColumns);
    if (task) await appendTextRests(tx, task.id, rest);
    return task;
  };
  const task = rest.length ? await db.transaction(insert) : await insert(db);
  if (task) return { task, created: true };
  if (!row.idempotencyKey) throw new Error('task insert conflicted without an idempotency key');
  const existing = await findByIdempotencyKey(db, row.apiKeyId, row.idempotencyKey);
  if (!existing) throw new Error('idempotent task vanished between insert and select');
  return { task: existing, created: false };
}

/** The task an API key created with this idempotency key, if any (without its input text). */
export async function findByIdempotencyKey(db: Db, apiKeyId: string, key: string): Promise<TaskSummaryRow | null> {
  const [row] = await db
    .select(taskSummaryColumns)
    .from(tasks)
    .where(and(eq(tasks.apiKeyId, apiKeyId), eq(tasks.idempotencyKey, key)));
  return row ?? null;
}

/** Removes a task that could not be enqueued, so the client's retry starts clean (its 503 said "not accepted"). */
export async function deleteTask(db: Db, id: string): Promise<void> {
  await db.delete(tasks).where(eq(tasks.id, id));
}

const findTaskQueries = preparedFor((db) => {
  const id = sql.placeholder('id');
  return {
    task: db.select(taskSummaryColumns).from(tasks).where(eq(tasks.id, id)).prepare(UNNAMED),
    owned: db
      .select(taskSummaryColumns)
      .from(tasks)
      .where(and(eq(tasks.id, id), eq(tasks.apiKeyId, sql.placeholder('owner'))))
      .prepare(UNNAMED),
    status: db
      .select({ status: tasks.status, apiKeyId: tasks.apiKeyId })
      .from(tasks)
      .where(eq(tasks.id, id))
      .prepare(UNNAMED),
    attempts: db
      .select()
      .from(attempts)
      .where(eq(attempts.taskId, id))
      .orderBy(asc(attempts.startedAt), asc(attempts.step), asc(attempts.attempt))
      .prepare(UNNAMED),
  };
});

/** A task (without its input text) with its attempts, or null; with `apiKeyId`, only when that key owns it. */
export async function findTask(db: Db, id: string, apiKeyId?: string): Promise<TaskSummaryWithAttempts | null> {
  const q = findTaskQueries(db);
  // Side by side (one round trip of waiting); another key's task reads as not found, its attempts unused.
  const [[task], rows] = await Promise.all([
    apiKeyId ? q.owned.execute({ id, owner: apiKeyId }) : q.task.execute({ id }),
    q.attempts.execute({ id }),
  ]);
  if (!task) return null;
  return { ...task, attempts: rows };
}

/**
 * Only a task's status, or null; with `apiKeyId`, only when that key owns it. What a waiter reads before it waits: a
 * task just submitted has rarely ended, and its row and attempts are then read once, when it has.
 */
export async function findTaskStatus(db: Db, id: string, apiKeyId?: string): Promise<TaskStatus | null> {
  const [row] = await findTaskQueries(db).status.execute({ id });
  return row && (apiKeyId === undefined || row.apiKeyId === apiKeyId) ? row.status : null;
}

/**
 * Records one attempt; its cost is added to the task (and the rollup) only when the row is new, so a re-delivered
 * job that writes the same (task, step, attempt) again changes nothing. Returns whether the row was new.
 */
export async function recordAttempt(db: Db, row: NewAttempt): Promise<boolean> {
  return (await recordAttempts(db, [{ row }])).size > 0;
}

/** The result of a task, written only if the task is not terminal yet. Returns whether it was written. */
export async function completeTask(db: Db, id: string, result: StepResult): Promise<boolean> {
  return (await completeTasks(db, [{ id, result }])).has(id);
}

/** Fails a task (plan exhausted, budget, …) unless it is terminal already. */
export async function failTask(db: Db, id: string, error: TaskError): Promise<boolean> {
  const rows = await db
    .update(tasks)
    .set({ status: 'failed', error, finishedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(tasks.id, id), notTerminal))
    .returning({ id: tasks.id });
  return rows.length > 0;
}

/**
 * Moves a task from plan step `from` to `to` (a re-route) and adds `note` to its routing reason. The job of step `to`
 * is added first, so its claim may already have moved the task to `to`: the note is still added (once — a re-run of
 * the re-route finds it there). A no-op when the task is elsewhere (another delivery moved it on); a terminal task
 * keeps its step.
 */
export async function advanceStep(db: Db, id: string, from: number, to: number, note?: string): Promise<void> {
  const text = note ? `; ${note}` : null;
  await db
    .update(tasks)
    .set({
      currentStep: sql`case when ${tasks.currentStep} = ${from} and ${notTerminal} then ${to}::int else ${tasks.currentStep} end`,
      updatedAt: sql`now()`,
      ...(text
        ? {
            routingReason: sql`case when strpos(${tasks.routingReason}, ${text}) > 0 then ${tasks.routingReason}
              else ${tasks.routingReason} || ${text} end`,
          }
        : {}),
    })
    .where(and(eq(tasks.id, id), inArray(tasks.currentStep, [from, to])));
}

/** A UTC day's settled spend over all keys (or one), from the rollup: what rebuilds Redis's budget counters. */
export async function spentOnDay(db: Db, day: string, apiKeyId?: string): Promise<number> {
  const ofKey = apiKeyId === undefined ? sql`` : sql` and ${costRollups.apiKeyId} = ${apiKeyId}`;
  const res = await db.execute<{ total: string | number | null }>(
    sql`select coalesce(sum(${costRollups.costMicros}), 0) as total from ${costRollups} where ${costRollups.day} = ${day}${ofKey}`,
  );
  return Number(res.rows[0]?.total ?? 0);
}

/** A task in progress as the orphan sweep sees it, with the attempts its current step already made. */
export interface InProgressTask {
  id: string;
  plan: string[];
  currentStep: number;
  /** As Postgres prints it, microseconds included: a cursor must not lose precision (a JS Date keeps ms only). */
  createdAt: string;
  /** Highest attempt number recorded for the current step (0 = none). */
  lastAttempt: number;
}

/**
 * One page of the tasks that should have a live job — queued or running, not a split task itself (its parts have
 * the jobs) — created more than `minAgeS` ago (so a submit between its insert and its enqueue is left alone), oldest
 * first, after `after` (keyset paging, stable while tasks change status).
 */
export async function findInProgressTasks(
  db: Db,
  opts: { after?: { createdAt: string; id: string } | undefined; limit: number; minAgeS: number },
): Promise<InProgressTask[]> {
  const after = opts.after
    ? sql`and (t.created_at, t.id) > (${opts.after.createdAt}::timestamptz, ${opts.after.id}::uuid)`
    : sql``;
  const res = await db.execute<{
    id: string;
    plan: string[];
    current_step: number;
    created_at: string;
    last: number;
  }>(sql`
    select t.id, t.plan, t.current_step, t.created_at::text as created_at,
           (select coalesce(max(a.attempt), 0) from ${attempts} a where a.task_id = t.id and a.step = t.current_step)::int as last
    from ${tasks} t
    where t.status in ('queued', 'running')
      and t.created_at < now() - make_interval(secs => ${opts.minAgeS})
      and not exists (select 1 from ${tasks} p where p.parent_task_id = t.id)
      ${after}
    order by t.created_at, t.id
    limit ${opts.limit}`);
  return res.rows.map((r) => ({
    id: r.id,
    plan: r.plan,
    currentStep: r.current_step,
    createdAt: r.created_at,
    lastAttempt: Number(r.last),
  }));
}
