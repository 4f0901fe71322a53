import type { TaskError } from '@orchex/core';
import type { Db } from './db.ts';
import type { NewAttempt } from './schema.ts';
import {
  attemptKey,
  type CachedResult,
  completeCachedTasks,
  markRunningMany,
  recordAttempts,
  type StepResult,
} from './set-wise-writes.ts';
import { cancelQueuedParts, finishParent } from './split-task-store.ts';
import { advanceStep, completeTask, failTask, recordAttempt } from './task-store.ts';

export type { CachedResult, StepResult } from './set-wise-writes.ts';

/**
 * Every write a worker makes, in one place. The hot ones (mark running, record attempt, complete) are grouped
 * set-wise: everything submitted while the previous group commits is written by the next group with ONE statement
 * per kind (rows passed as one JSON parameter; a statement is atomic, so each job's writes land whole or not at all).
 * Each caller is answered after that commit, so durability is unchanged; the cost is a few statements per group
 * instead of a few per job. The rare ones (fail,
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

  // Each kind of write is ONE statement (atomic on its own, so no BEGIN/COMMIT round trips), and the kinds of a
  // group go out side by side on their own pooled connections: a lone job's write costs one round trip.
  async function write(group: Item[]): Promise<void> {
    const running = group.filter((i): i is Extract<Item, { kind: 'running' }> => i.kind === 'running');
    const atts = group.filter((i): i is Extract<Item, { kind: 'attempt' }> => i.kind === 'attempt');
    const hits = group.filter((i): i is Extract<Item, { kind: 'cached' }> => i.kind === 'cached');
    await Promise.all([
      running.length &&
        settle(
          running,
          (xs) => markRunningMany(db, xs),
          (ok, r) => ok.has(r.taskId),
        ),
      atts.length &&
        settle(
          atts,
          (xs) => recordAttempts(db, xs),
          (fresh, a) => fresh.has(attemptKey(a.row)),
        ),
      hits.length &&
        settle(
          hits,
          (xs) => completeCached(db, xs),
          (ok, h) => ok.has(h.taskId),
        ),
    ]);
  }

  /**
   * Answers each item from the set-wise statement; if it failed (e.g. a task deleted under us) nothing of it
   * persisted, so each item is written alone and only the item at fault fails.
   */
  async function settle<T extends Item>(
    items: T[],
    writeAll: (items: T[]) => Promise<Set<string>>,
    answer: (done: Set<string>, item: T) => boolean,
  ): Promise<void> {
    try {
      const done = await writeAll(items);
      for (const item of items) item.resolve(answer(done, item));
    } catch {
      for (const item of items) {
        try {
          item.resolve(answer(await writeAll([item]), item));
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

const completeCached = (tx: Db, items: Array<{ taskId: string; result: CachedResult }>) =>
  completeCachedTasks(
    tx,
    items.map((i) => ({ id: i.taskId, result: i.result })),
  );
