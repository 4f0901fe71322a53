import { TERMINAL_STATUSES, type Usage } from '@orchex/core';
import { getTableColumns, type SQL, sql } from 'drizzle-orm';
import type { Db } from './db.ts';
import { preparedFor, UNNAMED } from './prepared.ts';
import { costRollups, type NewAttempt, type TaskRow, tasks } from './schema.ts';

/** What a successful attempt writes onto its task. */
export interface StepResult {
  /** The model that answered. */
  model: string;
  resultText: string;
  finishReason: string;
  usage: Usage | null;
}

/** `(task, step, attempt)` as one string, the identity of an attempt row. */
export const attemptKey = (r: { taskId: string; step: number; attempt: number }) =>
  `${r.taskId}:${r.step}:${r.attempt}`;

// The worker's writes, set-wise: rows go in as one JSON parameter (`jsonb_to_recordset`) so a group of jobs costs
// one statement per kind of write, whatever its size. The single-row functions in task-store call these with one row.
// Internal to @orchex/db: the worker writes through StepWriter.

/**
 * The tasks a statement touches, as one `uuid[]` parameter for `t.id = any(…)`: the planner then knows how many rows
 * that is and reads them by primary key. Joined on `jsonb_to_recordset` alone it counts 100 rows whatever was sent,
 * and on a table without statistics yet (a new deployment, every bench) it scanned the whole table for a lone task:
 * 3 ms at 8,000 rows against 0.2 ms. Not a string built into SQL: one bound parameter, every element cast to uuid.
 */
const idList = (ids: Iterable<string>) => sql`${uuidArray(ids)}::uuid[]`;
/** The `uuid[]` literal of idList, for a prepared statement's placeholder. */
const uuidArray = (ids: Iterable<string>) => `{${[...new Set(ids)].join(',')}}`;

/** `('succeeded', 'failed', 'cancelled')`, for raw statements (task-store's Drizzle queries use notInArray). */
const notTerminal = sql.raw(`(${TERMINAL_STATUSES.map((s) => `'${s}'`).join(', ')})`);

/**
 * Claims tasks for their steps: marks each running at its step and returns its row, in ONE statement — the worker's
 * read of the task and its running mark are the same round trip. A task is not claimed (absent from the result)
 * when it is terminal, already past the step (a stale re-delivery), or its plan names another model at that step;
 * its job must not run, and the caller reads the task to say which. Terminal tasks are never claimed, so a cancel
 * racing a starting worker has exactly one winner (see cancelBatch).
 *
 * The statement does not wait for its WAL flush (`synchronous_commit` off for its own transaction): the rows it
 * returns are exact; a crash of Postgres right after could lose only the status `running` — the task reads `queued`
 * again, which the sweep and the next delivery treat alike.
 */
export async function claimTasks(
  db: Db,
  items: ReadonlyArray<{ taskId: string; step: number; model: string }>,
): Promise<TaskRow[]> {
  const rows = JSON.stringify(items.map((i) => ({ id: i.taskId, step: i.step, model: i.model })));
  return claimStatement(db).execute({ rows, ids: uuidArray(items.map((i) => i.taskId)) });
}

// The statement lives in orchex_claim_tasks (migration 0009_step_functions.sql), whose plan Postgres keeps per
// connection. Each of the task's columns is selected from its result and decoded as that column, so a claim reads
// the same TaskRow as a select from the table.
const claimStatement = preparedFor((db) =>
  db
    .select(
      Object.fromEntries(
        Object.entries(getTableColumns(tasks)).map(([key, column]) => [
          key,
          sql`${sql.identifier(column.name)}`.mapWith(column),
        ]),
      ) as { [K in keyof TaskRow]: SQL<TaskRow[K]> },
    )
    .from(sql`orchex_claim_tasks(${sql.placeholder('rows')}::jsonb, ${sql.placeholder('ids')}::uuid[])`)
    .prepare(UNNAMED),
);

/**
 * Records attempts and, for those that carry a result, completes their task — in ONE statement, so a lone job's
 * write is one round trip and needs no transaction (a statement is atomic). Only new rows count — a re-delivered job
 * writing the same (task, step, attempt) changes nothing — and for those the cost is added to the task and the cost
 * rollup, the rollup aggregated per key so each upsert row is touched once. A result is written only onto a task that
 * is not terminal (whether or not its attempt row was new). Returns the attemptKey of every new row.
 *
 * The task's cost and its result are one UPDATE (Postgres applies only one of two updates of a row in one
 * statement). Its SET expressions see the row as it was, so `status` decides completion there.
 */
export async function recordAttempts(
  db: Db,
  items: ReadonlyArray<{ row: NewAttempt; result?: StepResult | undefined }>,
): Promise<Set<string>> {
  const json = JSON.stringify(
    items.map(({ row, result }) => ({
      task_id: row.taskId,
      step: row.step,
      attempt: row.attempt,
      model: row.model,
      provider: row.provider,
      outcome: row.outcome,
      error_kind: row.errorKind ?? null,
      error_message: row.errorMessage ?? null,
      status_code: row.statusCode ?? null,
      usage: row.usage ?? null,
      input_tokens: row.inputTokens ?? 0,
      output_tokens: row.outputTokens ?? 0,
      cost_micros: row.costMicros ?? 0,
      cost_estimated: row.costEstimated ?? false,
      max_tokens: row.maxTokens ?? null,
      latency_ms: row.latencyMs,
      started_at: row.startedAt instanceof Date ? row.startedAt.toISOString() : row.startedAt,
      done: result !== undefined,
      r_model: result?.model ?? null,
      r_text: result?.resultText ?? null,
      r_finish: result?.finishReason ?? null,
      r_usage: result?.usage ?? null,
    })),
  );
  // The statement lives in orchex_record_attempts (migration 0009_step_functions.sql), whose plan Postgres keeps per
  // connection: attempts inserted, their cost added to the task and the day's rollup, results written, in one call.
  const inserted = await db.execute<{ task_id: string; step: number; attempt: number }>(
    sql`select task_id, step, attempt from orchex_record_attempts(${json}::jsonb, ${idList(items.map((i) => i.row.taskId))})`,
  );
  return new Set(inserted.rows.map((r) => attemptKey({ taskId: r.task_id, step: r.step, attempt: r.attempt })));
}

/** Writes results onto tasks that are not terminal yet. Returns the ids that were completed. */
export async function completeTasks(db: Db, items: Array<{ id: string; result: StepResult }>): Promise<Set<string>> {
  const json = JSON.stringify(
    items.map(({ id, result }) => ({
      id,
      model: result.model,
      result_text: result.resultText,
      finish_reason: result.finishReason,
      usage: result.usage,
    })),
  );
  const res = await db.execute<{ id: string }>(sql`
    update ${tasks} t set status = 'succeeded', model = v.model, result_text = v.result_text, finish_reason = v.finish_reason,
      usage = v.usage, error = null, finished_at = now(), updated_at = now()
    from jsonb_to_recordset(${json}::jsonb) as v(id uuid, model text, result_text text, finish_reason text, usage jsonb)
    where t.id = any(${idList(items.map((i) => i.id))}) and t.id = v.id and t.status not in ${notTerminal}
    returning t.id`);
  return new Set(res.rows.map((r) => r.id));
}

/** An answer served from the result cache: the cached result and what its original call cost. */
export interface CachedResult extends StepResult {
  /** The provider of `model`, for the cost rollup. */
  provider: string;
  /** The original call's cost: what this answer saved. */
  savedMicros: number;
}

/**
 * Completes tasks from the result cache: no attempt row (no model call was made), cost stays 0, `cached` and the
 * saving are set, and — in the same statement, only for tasks this completed, so a re-delivered job counts once —
 * the cost rollup's cache_hits and saved_micros grow. Returns the ids that were completed.
 */
export async function completeCachedTasks(
  db: Db,
  items: Array<{ id: string; result: CachedResult }>,
): Promise<Set<string>> {
  const json = JSON.stringify(
    items.map(({ id, result }) => ({
      id,
      model: result.model,
      provider: result.provider,
      result_text: result.resultText,
      finish_reason: result.finishReason,
      usage: result.usage,
      saved_micros: result.savedMicros,
    })),
  );
  const res = await db.execute<{ id: string }>(sql`
    with v as (
      select * from jsonb_to_recordset(${json}::jsonb) as v(id uuid, model text, provider text, result_text text,
        finish_reason text, usage jsonb, saved_micros bigint)
    ), done as (
      update ${tasks} t set status = 'succeeded', model = v.model, result_text = v.result_text,
        finish_reason = v.finish_reason, usage = v.usage, error = null, cached = true, saved_cost_micros = v.saved_micros,
        started_at = coalesce(t.started_at, now()), finished_at = now(), updated_at = now()
      from v
      where t.id = any(${idList(items.map((i) => i.id))}) and t.id = v.id and t.status not in ${notTerminal}
      returning t.id, t.api_key_id, coalesce(t.task_type, '') as task_type, v.model, v.provider, v.saved_micros
    ), roll as (
      insert into ${costRollups} (day, api_key_id, model, provider, task_type, cache_hits, saved_micros)
      select (now() at time zone 'utc')::date, api_key_id, model, provider, task_type, count(*), sum(saved_micros)
      from done
      group by api_key_id, model, provider, task_type
      on conflict (day, api_key_id, model, task_type) do update set
        cache_hits = ${costRollups.cacheHits} + excluded.cache_hits,
        saved_micros = ${costRollups.savedMicros} + excluded.saved_micros
    )
    select id from done`);
  return new Set(res.rows.map((r) => r.id));
}
