import { sql } from 'drizzle-orm';
import type { Db } from './db.ts';
import { attempts, costRollups, type NewAttempt, type TaskRow, tasks } from './schema.ts';
import { completeTask, markRunning, recordAttempt } from './task-store.ts';

/** What a successful attempt writes onto its task. */
export type StepResult = Pick<TaskRow, 'model' | 'resultText' | 'finishReason' | 'usage'>;

/**
 * The worker's hot writes, grouped set-wise (DESIGN convention 10): every "mark running", "record attempt" and
 * "complete task" submitted while the previous group commits is written by the next group with ONE statement per
 * kind (rows passed as one JSON parameter), in ONE transaction. Each caller is answered after that commit, so
 * durability is unchanged; the cost is a few statements per group instead of a few per job.
 */
export interface StepWriter {
  /** As task-store's markRunning: false when the task is terminal or already past `step`. */
  markRunning(taskId: string, step: number): Promise<boolean>;
  /**
   * Records an attempt (unique per task/step/attempt; its cost and rollup counted only when new) and, with
   * `result`, completes the task unless it is terminal. Resolves whether the attempt row was new.
   */
  recordAttempt(row: NewAttempt, result?: StepResult): Promise<boolean>;
  /** Writes what is pending and waits for it. */
  close(): Promise<void>;
}

type Item =
  | { kind: 'running'; taskId: string; step: number; resolve: (v: boolean) => void; reject: (e: unknown) => void }
  | {
      kind: 'attempt';
      row: NewAttempt;
      result: StepResult | undefined;
      resolve: (v: boolean) => void;
      reject: (e: unknown) => void;
    };

const TERMINAL = sql`('succeeded', 'failed', 'cancelled')`;

export function createStepWriter(db: Db, maxGroup = 500): StepWriter {
  let pending: Item[] = [];
  let inFlight: Promise<void> | undefined;
  let scheduled = false;

  const kick = () => {
    if (inFlight || scheduled || pending.length === 0) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      if (inFlight || pending.length === 0) return;
      const group = pending.slice(0, maxGroup);
      pending = pending.slice(maxGroup);
      inFlight = write(group).finally(() => {
        inFlight = undefined;
        kick();
      });
    });
  };

  async function write(group: Item[]): Promise<void> {
    const running = group.filter((i): i is Extract<Item, { kind: 'running' }> => i.kind === 'running');
    const atts = group.filter((i): i is Extract<Item, { kind: 'attempt' }> => i.kind === 'attempt');
    try {
      const { runningOk, newAttempts } = await db.transaction(async (tx) => ({
        runningOk: running.length ? await markRunningSet(tx, running) : new Set<string>(),
        newAttempts: atts.length ? await recordSet(tx, atts) : new Set<string>(),
      }));
      for (const r of running) r.resolve(runningOk.has(r.taskId));
      for (const a of atts) a.resolve(newAttempts.has(attemptKey(a.row)));
    } catch {
      // Something in the group failed (e.g. a task deleted under us): nothing persisted; write each item alone so
      // only the item at fault fails.
      for (const item of group) {
        try {
          if (item.kind === 'running') item.resolve(await markRunning(db, item.taskId, item.step));
          else {
            const res = item.result;
            item.resolve(
              await db.transaction(async (tx) => {
                const fresh = await recordAttempt(tx, item.row);
                if (res) await completeTask(tx, item.row.taskId, res);
                return fresh;
              }),
            );
          }
        } catch (err) {
          item.reject(err);
        }
      }
    }
  }

  return {
    markRunning(taskId, step) {
      return new Promise((resolve, reject) => {
        pending.push({ kind: 'running', taskId, step, resolve, reject });
        kick();
      });
    },
    recordAttempt(row, result) {
      return new Promise((resolve, reject) => {
        pending.push({ kind: 'attempt', row, result, resolve, reject });
        kick();
      });
    },
    async close() {
      while (pending.length || inFlight || scheduled) {
        kick();
        await (inFlight ?? new Promise((r) => setImmediate(r)));
      }
    },
  };
}

const attemptKey = (r: Pick<NewAttempt, 'taskId' | 'step' | 'attempt'>) => `${r.taskId}:${r.step}:${r.attempt}`;

async function markRunningSet(tx: Db, items: Array<{ taskId: string; step: number }>): Promise<Set<string>> {
  const rows = JSON.stringify(items.map((i) => ({ id: i.taskId, step: i.step })));
  const res = await tx.execute<{ id: string }>(sql`
    update ${tasks} t set status = 'running', current_step = v.step, started_at = coalesce(t.started_at, now()), updated_at = now()
    from jsonb_to_recordset(${rows}::jsonb) as v(id uuid, step int)
    where t.id = v.id and t.status not in ${TERMINAL} and t.current_step <= v.step
    returning t.id`);
  return new Set(res.rows.map((r) => r.id));
}

async function recordSet(
  tx: Db,
  items: Array<{ row: NewAttempt; result: StepResult | undefined }>,
): Promise<Set<string>> {
  const rows = JSON.stringify(
    items.map(({ row }) => ({
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
      latency_ms: row.latencyMs,
      started_at: row.startedAt instanceof Date ? row.startedAt.toISOString() : row.startedAt,
    })),
  );
  // New attempts only (a redelivered job's duplicate changes nothing), their cost onto their tasks, and the rollup
  // aggregated per key so one upsert row is touched once.
  const inserted = await tx.execute<{ task_id: string; step: number; attempt: number }>(sql`
    with v as (
      select * from jsonb_to_recordset(${rows}::jsonb) as v(task_id uuid, step int, attempt int, model text, provider text,
        outcome text, error_kind text, error_message text, status_code int, usage jsonb, input_tokens int, output_tokens int,
        cost_micros bigint, latency_ms int, started_at timestamptz)
    ), ins as (
      insert into ${attempts} (task_id, step, attempt, model, provider, outcome, error_kind, error_message, status_code,
                               usage, input_tokens, output_tokens, cost_micros, latency_ms, started_at)
      select task_id, step, attempt, model, provider, outcome, error_kind, error_message, status_code, usage,
             input_tokens, output_tokens, cost_micros, latency_ms, started_at from v
      on conflict do nothing
      returning task_id, step, attempt, model, provider, outcome, input_tokens, output_tokens, cost_micros
    ), costs as (
      update ${tasks} t set cost_micros = t.cost_micros + c.cost, updated_at = now()
      from (select task_id, sum(cost_micros) as cost from ins group by task_id) c
      where t.id = c.task_id
      returning t.id, t.api_key_id, coalesce(t.task_type, '') as task_type
    ), roll as (
      insert into ${costRollups} (day, api_key_id, model, provider, task_type, requests, failed, input_tokens, output_tokens, cost_micros)
      select (now() at time zone 'utc')::date, c.api_key_id, ins.model, ins.provider, c.task_type, count(*),
             count(*) filter (where ins.outcome = 'failed'), sum(ins.input_tokens), sum(ins.output_tokens), sum(ins.cost_micros)
      from ins join costs c on c.id = ins.task_id
      group by c.api_key_id, ins.model, ins.provider, c.task_type
      on conflict (day, api_key_id, model, task_type) do update set
        requests = ${costRollups.requests} + excluded.requests,
        failed = ${costRollups.failed} + excluded.failed,
        input_tokens = ${costRollups.inputTokens} + excluded.input_tokens,
        output_tokens = ${costRollups.outputTokens} + excluded.output_tokens,
        cost_micros = ${costRollups.costMicros} + excluded.cost_micros
    )
    select task_id, step, attempt from ins`);
  const results = items.filter((i) => i.result);
  if (results.length) {
    const done = JSON.stringify(
      results.map(({ row, result }) => ({
        id: row.taskId,
        model: result!.model,
        result_text: result!.resultText,
        finish_reason: result!.finishReason,
        usage: result!.usage,
      })),
    );
    await tx.execute(sql`
      update ${tasks} t set status = 'succeeded', model = v.model, result_text = v.result_text, finish_reason = v.finish_reason,
        usage = v.usage, error = null, finished_at = now(), updated_at = now()
      from jsonb_to_recordset(${done}::jsonb) as v(id uuid, model text, result_text text, finish_reason text, usage jsonb)
      where t.id = v.id and t.status not in ${TERMINAL}`);
  }
  return new Set(inserted.rows.map(attemptKey2));
}

const attemptKey2 = (r: { task_id: string; step: number; attempt: number }) => `${r.task_id}:${r.step}:${r.attempt}`;
