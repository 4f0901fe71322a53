import type { Db } from './db.ts';

/** Options for createGroupCommitWriter. */
export interface GroupCommitWriterOptions {
  /** Most ops that share one transaction; more wait for the next group. Default: 100. */
  maxGroupSize?: number;
  /**
   * Group transactions running at once. Default 1: while one group commits, the next one fills up — the classic
   * group commit. More concurrent groups contend for the same rows (the cost rollup) and each gets smaller.
   */
  maxInFlight?: number;
}

/** Runs database ops in shared transactions; see createGroupCommitWriter. */
export interface GroupCommitWriter {
  /**
   * Runs `op` inside a transaction shared with the other ops submitted in the same event-loop turn; resolves with
   * its result only after that transaction has committed. `op` may run more than once (see createGroupCommitWriter).
   */
  run<T>(op: (tx: Db) => Promise<T>): Promise<T>;
  /** Flushes ops already submitted and waits for them; later run() calls reject. */
  close(): Promise<void>;
}

interface Pending {
  op: (tx: Db) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

/**
 * Group commit (DESIGN convention 10): the ops submitted in one event-loop turn run one after another in ONE
 * transaction, so N jobs pay for one commit instead of N, and each caller is answered only after the commit, so
 * durability is unchanged.
 *
 * If the group's transaction fails (an op threw, a constraint fired, the commit failed), nothing of it persisted;
 * each op is then re-run alone in its own transaction, so one bad op fails only its own caller. Ops must therefore
 * be re-runnable: only database work through `tx`, no side effects outside it, and no swallowing of database
 * errors (after an error Postgres aborts the whole transaction, so a caught error poisons its group-mates; use
 * `ON CONFLICT` and conditional updates instead of try/catch).
 */
export function createGroupCommitWriter(db: Db, options: GroupCommitWriterOptions = {}): GroupCommitWriter {
  const maxGroupSize = Math.max(1, options.maxGroupSize ?? 100);
  const maxInFlight = Math.max(1, options.maxInFlight ?? 1);
  let queue: Pending[] = [];
  let scheduled = false;
  let closed = false;
  const inFlight = new Set<Promise<void>>();

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    // setImmediate runs after the I/O callbacks of this turn, so every job that became ready in it joins the group.
    setImmediate(flush);
  }

  function flush(): void {
    scheduled = false;
    while (queue.length > 0 && inFlight.size < maxInFlight) {
      const group = queue.slice(0, maxGroupSize);
      queue = queue.slice(maxGroupSize);
      const done: Promise<void> = runGroup(group).finally(() => {
        inFlight.delete(done);
        // What arrived while this group committed forms the next group.
        if (queue.length > 0) flush();
      });
      inFlight.add(done);
    }
  }

  async function runGroup(group: Pending[]): Promise<void> {
    let results: unknown[];
    try {
      results = await db.transaction(async (tx) => {
        const out: unknown[] = [];
        for (const item of group) out.push(await item.op(tx));
        return out;
      });
    } catch (groupError) {
      if (group.length === 1) {
        group[0]?.reject(groupError);
        return;
      }
      // Alone, one after another: the ops rely on the order they were submitted in, as they did in the group.
      for (const item of group) {
        try {
          item.resolve(await db.transaction((tx) => item.op(tx)));
        } catch (err) {
          item.reject(err);
        }
      }
      return;
    }
    for (const [i, item] of group.entries()) item.resolve(results[i]);
  }

  return {
    run<T>(op: (tx: Db) => Promise<T>): Promise<T> {
      if (closed) return Promise.reject(new Error('group-commit writer is closed'));
      return new Promise<T>((resolve, reject) => {
        queue.push({ op, resolve: resolve as (value: unknown) => void, reject });
        schedule();
      });
    },
    async close(): Promise<void> {
      closed = true;
      flush();
      while (inFlight.size > 0) await Promise.all(inFlight);
    },
  };
}
