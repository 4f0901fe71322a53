import type { TaskError } from '@orchex/core';
import type { Db } from './db.ts';
import { groupCommit } from './group-commit.ts';
import type { NewAttempt } from './schema.ts';
import {
  attemptKey,
  type CachedResult,
  completeCachedTasks,
  recordAttempts,
  type StepResult,
} from './set-wise-writes.ts';
import { cancelQueuedParts, finishParent } from './split-task-store.ts';
import { advanceStep, completeTask, failTask, recordAttempt } from './task-store.ts';

export type { CachedResult, StepResult } from './set-wise-writes.ts';

/**
 * Every write a worker makes after claiming its task (TaskReader.claim). The hot ones (record attempt, complete)
 * are grouped set-wise (group-commit.ts): each kind has its own lane, and everything submitted while a lane's
 * statement runs is written by its next one, rows passed as one JSON parameter. A statement is atomic, so each job's
 * writes land whole or not at all, with no BEGIN/COMMIT round trips; each caller is answered after the commit, so
 * durability is unchanged. The rare writes (fail, advance, a split task's reduce) are plain statements.
 */
export interface StepWriter {
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
   * Moves a task from step `from` to `to` (a re-route) — unless the claim of step `to` already did — and adds `note`
   * to its routing reason once (a model skipped without a call); a no-op when another delivery moved it elsewhere.
   */
  advance(taskId: string, from: number, to: number, note?: string): Promise<void>;
  /** Writes what is pending and waits for it. */
  close(): Promise<void>;
}

export function createStepWriter(db: Db, maxGroup = 500): StepWriter {
  // One lane per kind of write, each with its own statement in flight.
  const attemptLane = groupCommit(
    (items: Array<{ row: NewAttempt; result: StepResult | undefined }>) => recordAttempts(db, items),
    (fresh, a) => fresh.has(attemptKey(a.row)),
    maxGroup,
  );
  const cachedLane = groupCommit(
    (items: Array<{ id: string; result: CachedResult }>) => completeCachedTasks(db, items),
    (ok, h) => ok.has(h.id),
    maxGroup,
  );

  return {
    recordAttempt: (row, result) => attemptLane.submit({ row, result }),
    completeCached: (id, result) => cachedLane.submit({ id, result }),
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
      await Promise.all([attemptLane.drain(), cachedLane.drain()]);
    },
  };
}
