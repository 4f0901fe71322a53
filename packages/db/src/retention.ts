import { TERMINAL_STATUSES } from '@orchex/core/vocabulary';
import { sql } from 'drizzle-orm';
import type { Db } from './db.ts';

/** Options of {@link applyRetention}. */
export interface RetentionOptions {
  /** Tasks that finished before this moment are emptied. */
  before: Date;
  /** Tasks per batch (one short transaction each). Default 500. */
  batchSize?: number;
  /** Most batches in one run; the next run carries on. Default unlimited. */
  maxBatches?: number;
  /** Pause between batches, so a large backlog never hogs Postgres. Default 20 ms. */
  pauseMs?: number;
  /** Called after each batch (tests watch progress with it). */
  onBatch?: (batch: RetentionBatch) => void;
}

/** What one batch did. */
export interface RetentionBatch {
  /** Tasks emptied. */
  tasks: number;
  /** Attempt rows deleted. */
  attempts: number;
}

/** What a run did. */
export interface RetentionResult extends RetentionBatch {
  batches: number;
}

const terminal = sql.raw(TERMINAL_STATUSES.map((s) => `'${s}'`).join(', '));

/**
 * One batch of retention, as one statement (so one short transaction): the oldest `batchSize` finished tasks not yet
 * emptied lose their prompt, context, conversation, system text and answer, and their attempt rows are deleted.
 * What the cost reports and the budget read — `cost_rollups`, and each task's status, model, usage, cost and times —
 * stays. Rows another transaction holds are skipped (SKIP LOCKED), so a running worker never waits on retention. A
 * part of a split task is kept until its parent has finished too (the reduce reads the map parts' answers).
 */
export async function purgeBatch(db: Db, before: Date, batchSize: number): Promise<RetentionBatch> {
  const res = await db.execute<{ tasks: number; attempts: number }>(sql`
    with doomed as (
      select t.id from tasks t
      where t.purged_at is null and t.finished_at is not null and t.finished_at < ${before.toISOString()}::timestamptz
        and t.status in (${terminal})
        and (t.parent_task_id is null
             or exists (select 1 from tasks p where p.id = t.parent_task_id and p.finished_at is not null))
      order by t.finished_at
      limit ${batchSize}
      for update skip locked
    ), gone as (
      delete from attempts where task_id in (select id from doomed) returning 1
    ), emptied as (
      update tasks set prompt = '', context = null, messages = null, system = null, result_text = null,
                       purged_at = now()
      where id in (select id from doomed) returning 1
    )
    select (select count(*) from emptied)::int as tasks, (select count(*) from gone)::int as attempts`);
  const row = res.rows[0];
  return { tasks: Number(row?.tasks ?? 0), attempts: Number(row?.attempts ?? 0) };
}

/** Runs {@link purgeBatch} until a batch comes back short (or maxBatches), pausing between batches. */
export async function applyRetention(db: Db, opts: RetentionOptions): Promise<RetentionResult> {
  const batchSize = opts.batchSize ?? 500;
  const total: RetentionResult = { tasks: 0, attempts: 0, batches: 0 };
  while (opts.maxBatches === undefined || total.batches < opts.maxBatches) {
    const batch = await purgeBatch(db, opts.before, batchSize);
    if (batch.tasks === 0) break;
    total.tasks += batch.tasks;
    total.attempts += batch.attempts;
    total.batches++;
    opts.onBatch?.(batch);
    if (batch.tasks < batchSize) break;
    await new Promise((r) => setTimeout(r, opts.pauseMs ?? 20));
  }
  return total;
}
