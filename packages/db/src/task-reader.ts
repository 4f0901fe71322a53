import { asc, inArray } from 'drizzle-orm';
import type { Db } from './db.ts';
import { type AttemptRow, attempts, type TaskRow, tasks } from './schema.ts';
import { claimTasks } from './set-wise-writes.ts';
import { findParts, type PartRow } from './split-task-store.ts';
import type { TaskWithAttempts } from './task-store.ts';

/** What a worker reads: tasks with their attempts (batched), and a split task's parts. */
export interface TaskReader {
  /**
   * Claims a task for one step of `model` and returns it with its attempts: marked running at that step (the read
   * and the mark are one statement). Null when it cannot run that step — not found, terminal, already past the step,
   * or its plan names another model there; `load` says which. The claims of one event-loop turn share a statement.
   * `withAttempts` false: the caller knows there are none yet (a first delivery of a first step) — `attempts` is
   * then empty, and a turn whose claims all say so skips the attempts query.
   */
  claim(id: string, step: number, model: string, withAttempts?: boolean): Promise<TaskWithAttempts | null>;
  /** A task with its attempts, as it is, changing nothing; the loads of one turn share two queries. */
  load(id: string, withAttempts?: boolean): Promise<TaskWithAttempts | null>;
  /** The parts of a split task in order (maps by chunk, then the reduce). */
  parts(parentId: string): Promise<PartRow[]>;
}

type Waiter = { resolve: (t: TaskWithAttempts | null) => void; reject: (e: unknown) => void; withAttempts: boolean };

/**
 * The read side of group commit (docs/architecture.md, "Group commit, set-wise"): a worker running 32 jobs asks for
 * 32 tasks at once; they are claimed (or read) with one statement for the tasks and one for their attempts, side by
 * side, instead of 64 round trips.
 */
export function createTaskReader(db: Db, maxBatch = 200): TaskReader {
  const readTasks = (ids: string[]) => db.select().from(tasks).where(inArray(tasks.id, ids));
  const claims = batcher(
    (items: Array<{ taskId: string; step: number; model: string }>) => claimTasks(db, items),
    // One claim per (task, step, model): a second delivery of the same job in the same turn shares the answer.
    (i) => `${i.taskId}:${i.step}:${i.model}`,
    // Two steps of one task claimed in one turn (a stale delivery beside the current one): the row was marked at
    // one of them, and only that one is claimed.
    (row, i) => row.currentStep === i.step,
  );
  const loads = batcher(
    (items: Array<{ taskId: string }>) => readTasks(items.map((i) => i.taskId)),
    (i) => i.taskId,
    () => true,
  );

  /** Batches one kind of request per event-loop turn (at most maxBatch): its rows and their attempts side by side. */
  function batcher<I extends { taskId: string }>(
    fetchRows: (items: I[]) => Promise<TaskRow[]>,
    keyOf: (item: I) => string,
    accepts: (row: TaskRow, item: I) => boolean,
  ) {
    let pending = new Map<string, { item: I; waiters: Waiter[] }>();
    let scheduled = false;

    async function flush(batch: typeof pending): Promise<void> {
      const entries = [...batch.values()];
      const attemptIds = [
        ...new Set(entries.filter((e) => e.waiters.some((w) => w.withAttempts)).map((e) => e.item.taskId)),
      ];
      try {
        const [rows, atts] = await Promise.all([
          fetchRows(entries.map((e) => e.item)),
          attemptIds.length === 0
            ? []
            : db
                .select()
                .from(attempts)
                .where(inArray(attempts.taskId, attemptIds))
                .orderBy(asc(attempts.startedAt), asc(attempts.step), asc(attempts.attempt)),
        ]);
        const byTask = new Map(rows.map((r) => [r.id, r]));
        const attemptsOf = new Map<string, AttemptRow[]>();
        for (const a of atts) {
          const list = attemptsOf.get(a.taskId);
          if (list) list.push(a);
          else attemptsOf.set(a.taskId, [a]);
        }
        for (const { item, waiters } of entries) {
          const row = byTask.get(item.taskId);
          const mine = row && accepts(row, item) ? row : undefined;
          for (const w of waiters)
            w.resolve(mine ? { ...mine, attempts: w.withAttempts ? (attemptsOf.get(mine.id) ?? []) : [] } : null);
        }
      } catch (err) {
        for (const { waiters } of entries) for (const w of waiters) w.reject(err);
      }
    }

    return (item: I, withAttempts: boolean) =>
      new Promise<TaskWithAttempts | null>((resolve, reject) => {
        const key = keyOf(item);
        const entry = pending.get(key);
        if (entry) entry.waiters.push({ resolve, reject, withAttempts });
        else pending.set(key, { item, waiters: [{ resolve, reject, withAttempts }] });
        if (pending.size >= maxBatch) {
          const batch = pending;
          pending = new Map();
          void flush(batch);
        } else if (!scheduled) {
          scheduled = true;
          setImmediate(() => {
            scheduled = false;
            const batch = pending;
            pending = new Map();
            if (batch.size) void flush(batch);
          });
        }
      });
  }

  return {
    parts: (parentId) => findParts(db, parentId),
    claim: (id, step, model, withAttempts = true) => claims({ taskId: id, step, model }, withAttempts),
    load: (id, withAttempts = true) => loads({ taskId: id }, withAttempts),
  };
}
