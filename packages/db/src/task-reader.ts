import { asc, inArray } from 'drizzle-orm';
import type { Db } from './db.ts';
import { attempts, tasks } from './schema.ts';
import { findParts, type PartRow } from './split-task-store.ts';
import type { TaskWithAttempts } from './task-store.ts';

/** What a worker reads: tasks with their attempts (batched), and a split task's parts. */
export interface TaskReader {
  /**
   * A task with its attempts; the loads of one event-loop turn share two queries. `withAttempts` false: the caller
   * knows there are none yet (a first delivery of a first step) — `attempts` is then empty, and a turn whose loads
   * all say so skips the attempts query.
   */
  load(id: string, withAttempts?: boolean): Promise<TaskWithAttempts | null>;
  /** The parts of a split task in order (maps by chunk, then the reduce). */
  parts(parentId: string): Promise<PartRow[]>;
}

/**
 * The read side of group commit (docs/architecture.md, "Group commit, set-wise"): a worker running 32 jobs asks for
 * 32 tasks at once; they are read with `id in (…)` (one query for the tasks, one for their attempts) instead of 64
 * round trips.
 */
export function createTaskReader(db: Db, maxBatch = 200): TaskReader {
  let pending = new Map<
    string,
    Array<{ resolve: (t: TaskWithAttempts | null) => void; reject: (e: unknown) => void; withAttempts: boolean }>
  >();
  let scheduled = false;

  async function flush(batch: typeof pending): Promise<void> {
    const ids = [...batch.keys()];
    const attemptIds = ids.filter((id) => batch.get(id)?.some((w) => w.withAttempts));
    try {
      const [rows, atts] = await Promise.all([
        db.select().from(tasks).where(inArray(tasks.id, ids)),
        attemptIds.length === 0
          ? []
          : db
              .select()
              .from(attempts)
              .where(inArray(attempts.taskId, attemptIds))
              .orderBy(asc(attempts.startedAt), asc(attempts.step), asc(attempts.attempt)),
      ]);
      const byTask = new Map<string, TaskWithAttempts>(rows.map((r) => [r.id, { ...r, attempts: [] }]));
      for (const a of atts) byTask.get(a.taskId)?.attempts.push(a);
      for (const [id, waiters] of batch) for (const w of waiters) w.resolve(byTask.get(id) ?? null);
    } catch (err) {
      for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
    }
  }

  return {
    parts: (parentId) => findParts(db, parentId),
    load(id, withAttempts = true) {
      return new Promise((resolve, reject) => {
        const list = pending.get(id);
        if (list) list.push({ resolve, reject, withAttempts });
        else pending.set(id, [{ resolve, reject, withAttempts }]);
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
    },
  };
}
