import { asc, inArray } from 'drizzle-orm';
import type { Db } from './db.ts';
import { attempts, tasks } from './schema.ts';
import type { TaskWithAttempts } from './task-store.ts';

/** Loads tasks with their attempts, batching the loads of one event-loop turn into two queries. */
export interface TaskReader {
  load(id: string): Promise<TaskWithAttempts | null>;
}

/**
 * The read side of group commit (DESIGN convention 10): a worker running 32 jobs asks for 32 tasks at once; they
 * are read with `id in (…)` (one query for the tasks, one for their attempts) instead of 64 round trips.
 */
export function createTaskReader(db: Db, maxBatch = 200): TaskReader {
  let pending = new Map<
    string,
    Array<{ resolve: (t: TaskWithAttempts | null) => void; reject: (e: unknown) => void }>
  >();
  let scheduled = false;

  async function flush(batch: typeof pending): Promise<void> {
    const ids = [...batch.keys()];
    try {
      const [rows, atts] = await Promise.all([
        db.select().from(tasks).where(inArray(tasks.id, ids)),
        db
          .select()
          .from(attempts)
          .where(inArray(attempts.taskId, ids))
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
    load(id) {
      return new Promise((resolve, reject) => {
        const list = pending.get(id);
        if (list) list.push({ resolve, reject });
        else pending.set(id, [{ resolve, reject }]);
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
