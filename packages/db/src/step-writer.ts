import type { Db } from './db.ts';
import type { NewAttempt } from './schema.ts';
import { attemptKey, completeTasks, markRunningMany, recordAttempts, type StepResult } from './step-writes.ts';
import { markRunning } from './task-store.ts';

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
        runningOk: running.length ? await markRunningMany(tx, running) : new Set<string>(),
        newAttempts: atts.length ? await recordAndComplete(tx, atts) : new Set<string>(),
      }));
      for (const r of running) r.resolve(runningOk.has(r.taskId));
      for (const a of atts) a.resolve(newAttempts.has(attemptKey(a.row)));
    } catch {
      // Something in the group failed (e.g. a task deleted under us): nothing persisted; write each item alone so
      // only the item at fault fails.
      for (const item of group) {
        try {
          if (item.kind === 'running') item.resolve(await markRunning(db, item.taskId, item.step));
          else item.resolve((await db.transaction((tx) => recordAndComplete(tx, [item]))).size > 0);
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

async function recordAndComplete(
  tx: Db,
  items: Array<{ row: NewAttempt; result: StepResult | undefined }>,
): Promise<Set<string>> {
  const fresh = await recordAttempts(
    tx,
    items.map((i) => i.row),
  );
  const done = items.flatMap(({ row, result }) => (result ? [{ id: row.taskId, result }] : []));
  if (done.length) await completeTasks(tx, done);
  return fresh;
}
