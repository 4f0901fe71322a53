import type { TaskError } from '@orchex/core';
import type { Db } from './db.ts';
import type { NewAttempt } from './schema.ts';
import {
  attemptKey,
  type CachedResult,
  completeCachedTasks,
  completeTasks,
  markRunningMany,
  recordAttempts,
  type StepResult,
} from './set-wise-writes.ts';
import { cancelQueuedParts, finishParent } from './split-task-store.ts';
import { advanceStep, completeTask, failTask, markRunning, recordAttempt } from './task-store.ts';

export type { CachedResult, StepResult } from './set-wise-writes.ts';

/**
 * Every write a worker makes, in one place. The hot ones (mark running, record attempt, complete) are grouped
 * set-wise: everything submitted while the previous group commits is written by the next group with ONE statement
 * per kind (rows passed as one JSON parameter), in ONE transaction. Each caller is answered after that commit, so
 * durability is unchanged; the cost is a few statements per group instead of a few per job. The rare ones (fail,
 * advance, a split task's reduce) are plain statements.
 */
export interface StepWriter {
  /** As task-store's markRunning: false when the task is terminal or already past `step`. */
  markRunning(taskId: string, step: number): Promise<boolean>;
  /**
   * Records an attempt (unique per task/step/attempt; its cost and rollup counted only when new) and, with
   * `result`, completes the task unless it is terminal. Resolves whether the attempt row was new.
   */
  recordAttempt(row: NewAttempt, result?: StepResult): Promise<boolean>;
  /**
   * Completes a task with an answer from the result cache (no attempt: no call was made) and counts the hit and its
   * saving in the cost rollup, unless the task is terminal. Grouped like recordAttempt. Resolves whether it completed.
   */
  completeCached(taskId: string, result: CachedResult): Promise<boolean>;
  /**
   * The successful attempt of a split task's reduce part: the attempt, the part's result and the task it belongs to
   * (the reduce's answer, cost = sum of its parts) in ONE transaction — a reduce recorded as done with its parent
   * still running could never be finished later. Resolves whether the attempt row was new.
   */
  completeReduce(row: NewAttempt, result: StepResult, parentId: string): Promise<boolean>;
  /**
   * Fails a task unless it is terminal; with `parent`, also the split task it is a part of (cost = sum of its parts)
   * and, in the same transaction, cancels the parts that have not started: their answers could no longer be used.
   * Resolves whether the task itself was failed by this call.
   */
  fail(taskId: string, error: TaskError, parent?: { id: string; error: TaskError }): Promise<boolean>;
  /**
   * Moves a task from step `from` to `to` (a re-route); a no-op when another delivery already moved it. `note` is
   * added to its routing reason (a model skipped without a call).
   */
  advance(taskId: string, from: number, to: number, note?: string): Promise<void>;
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
    }
  | {
      kind: 'cached';
      taskId: string;
      result: CachedResult;
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
    const hits = group.filter((i): i is Extract<Item, { kind: 'cached' }> => i.kind === 'cached');
    try {
      const { runningOk, newAttempts, cachedOk } = await db.transaction(async (tx) => ({
        runningOk: running.length ? await markRunningMany(tx, running) : new Set<string>(),
        newAttempts: atts.length ? await recordAndComplete(tx, atts) : new Set<string>(),
        cachedOk: hits.length ? await completeCached(tx, hits) : new Set<string>(),
      }));
      for (const r of running) r.resolve(runningOk.has(r.taskId));
      for (const a of atts) a.resolve(newAttempts.has(attemptKey(a.row)));
      for (const h of hits) h.resolve(cachedOk.has(h.taskId));
    } catch {
      // Something in the group failed (e.g. a task deleted under us): nothing persisted; write each item alone so
      // only the item at fault fails.
      for (const item of group) {
        try {
          if (item.kind === 'running') item.resolve(await markRunning(db, item.taskId, item.step));
          else if (item.kind === 'cached') item.resolve((await completeCached(db, [item])).size > 0);
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
    completeCached(taskId, result) {
      return new Promise((resolve, reject) => {
        pending.push({ kind: 'cached', taskId, result, resolve, reject });
        kick();
      });
    },
    completeReduce(row, result, parentId) {
      return db.transaction(async (tx) => {
        const recorded = await recordAttempt(tx, row);
        await completeTask(tx, row.taskId, result);
        const { model, resultText, finishReason } = result;
        await finishParent(tx, parentId, { status: 'succeeded', model, resultText, finishReason });
        return recorded;
      });
    },
    fail(taskId, error, parent) {
      return db.transaction(async (tx) => {
        const failed = await failTask(tx, taskId, error);
        if (parent) {
          await finishParent(tx, parent.id, { status: 'failed', error: parent.error });
          await cancelQueuedParts(tx, parent.id);
        }
        return failed;
      });
    },
    advance: (taskId, from, to, note) => advanceStep(db, taskId, from, to, note),
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

const completeCached = (tx: Db, items: Array<{ taskId: string; result: CachedResult }>) =>
  completeCachedTasks(
    tx,
    items.map((i) => ({ id: i.taskId, result: i.result })),
  );
