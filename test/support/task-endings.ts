import { TERMINAL_STATUSES } from '@orchex/core';
import type { Db } from '@orchex/db';
import { taskFinishedChannel } from '@orchex/queue';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';

/** One write of a terminal status to a task row. */
export interface TerminalWrite {
  taskId: string;
  from: string;
  to: string;
}

/**
 * Records, by a trigger in the test's own (throwaway) database, every UPDATE that writes a terminal status to a
 * task row — a second completion of a task, or one written over a terminal task, shows up as a second row even when
 * the product's statement changes nothing else. Call after the migrations ran (startSystem does), before the tasks.
 */
export async function recordTerminalWrites(db: Db): Promise<{ writes(): Promise<TerminalWrite[]> }> {
  const terminal = sql.raw(TERMINAL_STATUSES.map((s) => `'${s}'`).join(', '));
  await db.execute(sql`create table test_terminal_writes (
    seq bigint generated always as identity primary key,
    task_id uuid not null, old_status text not null, new_status text not null)`);
  await db.execute(sql`create function test_record_terminal_write() returns trigger language plpgsql as $$
    begin
      insert into test_terminal_writes (task_id, old_status, new_status) values (new.id, old.status, new.status);
      return new;
    end $$`);
  await db.execute(sql`create trigger test_terminal_writes after update on tasks for each row
    when (new.status in (${terminal})) execute function test_record_terminal_write()`);
  return {
    async writes() {
      const res = await db.execute<{ task_id: string; old_status: string; new_status: string }>(
        sql`select task_id, old_status, new_status from test_terminal_writes order by seq`,
      );
      return res.rows.map((r) => ({ taskId: r.task_id, from: r.old_status, to: r.new_status }));
    },
  };
}

/** Every task-finished announcement (packages/queue/src/task-events.ts) published under `prefix`. */
export interface TaskFinishedListener {
  /** Announcements per task id, counting every one received so far. */
  counts(): Map<string, number>;
  /** Resolves once every announcement published before this call has been received (a PING behind them). */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** Subscribes (and waits for the subscription) before returning, so no announcement made afterwards is missed. */
export async function listenTaskFinished(redisUrl: string, prefix: string): Promise<TaskFinishedListener> {
  const sub = new Redis(redisUrl);
  const counts = new Map<string, number>();
  const channel = taskFinishedChannel(prefix);
  sub.on('message', (ch: string, taskId: string) => {
    if (ch === channel) counts.set(taskId, (counts.get(taskId) ?? 0) + 1);
  });
  await sub.subscribe(channel);
  return {
    counts: () => new Map(counts),
    // Redis answers a subscriber's PING on the same connection, after every message published before it.
    settle: async () => void (await sub.ping()),
    close: async () => void (await sub.quit()),
  };
}
