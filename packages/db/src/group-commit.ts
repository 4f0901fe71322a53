/**
 * One lane of group commit: items submitted while the lane's previous statement runs are written together by the
 * next one (at most `maxGroup` per statement). `writeAll` writes a group set-wise in ONE statement and returns the
 * keys it applied; each caller is answered after that statement, with `answer(applied, item)`. If the group's
 * statement fails (e.g. a task deleted under us) nothing of it persisted, so each item is written alone and only
 * the item at fault fails.
 */
export interface GroupCommit<T, R> {
  submit(item: T): Promise<R>;
  /** Writes what is pending and waits for it. */
  drain(): Promise<void>;
}

export function groupCommit<T, R>(
  writeAll: (items: T[]) => Promise<Set<string>>,
  answer: (applied: Set<string>, item: T) => R,
  maxGroup: number,
): GroupCommit<T, R> {
  type Waiting = { item: T; resolve: (v: R) => void; reject: (e: unknown) => void };
  let pending: Waiting[] = [];
  let inFlight: Promise<void> | undefined;
  let scheduled = false;

  async function write(group: Waiting[]): Promise<void> {
    try {
      const applied = await writeAll(group.map((w) => w.item));
      for (const w of group) w.resolve(answer(applied, w.item));
    } catch {
      for (const w of group) {
        try {
          w.resolve(answer(await writeAll([w.item]), w.item));
        } catch (err) {
          w.reject(err);
        }
      }
    }
  }

  // No timer: a lone item goes out on the next turn of the event loop; under load the group is whatever arrived
  // while the previous statement ran.
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

  return {
    submit: (item) =>
      new Promise<R>((resolve, reject) => {
        pending.push({ item, resolve, reject });
        kick();
      }),
    async drain() {
      while (pending.length || inFlight || scheduled) {
        kick();
        await (inFlight ?? new Promise((r) => setImmediate(r)));
      }
    },
  };
}
