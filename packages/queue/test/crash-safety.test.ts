import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueJobs } from '../../../test/support/queue-jobs.ts';
import { startSystem, type TestSystem } from '../../../test/support/start-system.ts';
import { submit, waitFor } from '../../../test/support/task-client.ts';
import { listenTaskFinished, recordTerminalWrites } from '../../../test/support/task-endings.ts';
import { spawnWorker, type WorkerProcess } from '../../../test/support/worker-process.ts';

const until = async (cond: () => boolean, ms = 30_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('crash safety with real worker processes', () => {
  let sys: TestSystem;
  const spawned: WorkerProcess[] = [];
  beforeAll(async () => {
    sys = await startSystem('crash', { workers: false });
  });
  afterAll(async () => {
    for (const w of spawned) w.proc.kill('SIGKILL');
    await sys?.close();
  });

  it('kill -9 mid-call, start another worker: every task ends exactly once, with one announcement, and each call is made once more', async () => {
    const terminalWrites = await recordTerminalWrites(sys.database.db);
    const announced = await listenTaskFinished(sys.redisUrl, sys.prefix);
    sys.fake.setDefault('claude-test', { type: 'ok', latencyMs: 2500 });
    const env = { ...sys.env, ORCHEX_LOCK_MS: '2000' };
    const a = spawnWorker(env, ['--queues', 'claude-test']);
    spawned.push(a);
    await a.ready;
    const ids = await Promise.all(
      Array.from({ length: 6 }, (_, i) => submit(sys, { prompt: `slow ${i}`, fallback_chain: ['claude-test'] })),
    );
    await until(() => sys.fake.inFlight('claude-test') >= 6);
    a.proc.kill('SIGKILL');
    expect(await a.exited).toBeNull();

    sys.fake.setDefault('claude-test', { type: 'ok', latencyMs: 100 });
    const b = spawnWorker(env, ['--queues', 'claude-test']);
    spawned.push(b);
    const tasks = await Promise.all(ids.map((id) => waitFor(sys, id, 60_000)));
    expect(tasks.map((t) => t.status)).toEqual(Array(6).fill('succeeded'));

    // Nothing is left to run (every job completed), so no later delivery can end a task again.
    const jobs = queueJobs(sys.redisUrl, sys.prefix);
    try {
      const end = Date.now() + 30_000;
      while ((await jobs.pending('claude-test')) > 0) {
        if (Date.now() > end)
          throw new Error(`jobs still pending: ${JSON.stringify(await jobs.counts('claude-test'))}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await jobs.counts('claude-test')).toMatchObject({ completed: 6, failed: 0 });
    } finally {
      await jobs.close();
    }

    // One terminal write per task, from a live status: no task was completed twice, nor over a finished one.
    const writes = await terminalWrites.writes();
    expect(writes.filter((w) => ids.includes(w.taskId))).toHaveLength(6);
    for (const id of ids) {
      expect(writes.filter((w) => w.taskId === id)).toEqual([{ taskId: id, from: 'running', to: 'succeeded' }]);
    }
    // One announcement per task, so every waiter is woken once with the one result.
    await announced.settle();
    await announced.close();
    expect(Object.fromEntries(announced.counts())).toEqual(Object.fromEntries(ids.map((id) => [id, 1])));

    // Each task has one attempt row, the succeeded one (the dead worker recorded nothing), and its cost is the task's.
    const rows = await sys.database.db.execute<{ task_id: string; succeeded: number; total: number }>(sql`
      select task_id, count(*) filter (where outcome = 'succeeded')::int as succeeded, count(*)::int as total
      from attempts where task_id in (${sql.join(
        ids.map((id) => sql`${id}::uuid`),
        sql`, `,
      )}) group by task_id`);
    expect(rows.rows).toHaveLength(6);
    for (const r of rows.rows) expect(r).toMatchObject({ succeeded: 1, total: 1 });
    // The provider saw 12 calls: the 6 in flight at the kill (their socket closed with the process), then one per
    // task by the new worker — one answer per task, none asked for twice.
    const calls = sys.fake.log.filter((l) => l.model === 'claude-test');
    expect(calls).toHaveLength(12);
    expect(calls.slice(0, 6).map((l) => l.outcome)).toEqual(Array(6).fill('aborted'));
    expect(calls.filter((l) => l.outcome === 'ok')).toHaveLength(6);
  }, 90_000);

  it('a call longer than the job lock is not declared stalled (the lock is renewed while it runs)', async () => {
    sys.fake.resetLog();
    sys.fake.setDefault('claude-test', { type: 'ok', latencyMs: 5000 });
    const w = spawnWorker({ ...sys.env, ORCHEX_LOCK_MS: '1500' }, ['--queues', 'claude-test']);
    spawned.push(w);
    await w.ready;
    const t = await waitFor(sys, await submit(sys, { prompt: 'long call', fallback_chain: ['claude-test'] }), 30_000);
    expect(t.status).toBe('succeeded');
    expect(t.attempts).toHaveLength(1);
    expect(sys.fake.log.filter((l) => l.model === 'claude-test')).toHaveLength(1);
    w.proc.kill('SIGTERM');
    await w.exited;
  }, 60_000);

  it('SIGTERM drains: the signalled worker finishes its running call and records it, then exits 0', async () => {
    // This worker must be the only one serving the queue: another one would pick the task up once the signalled
    // worker's lock lapsed, and the test would pass with a worker that quits without draining.
    for (const other of spawned) {
      if (other.proc.exitCode === null && other.proc.signalCode === null) other.proc.kill('SIGTERM');
      await other.exited;
    }
    sys.fake.resetLog();
    sys.fake.setDefault('claude-test', { type: 'ok', latencyMs: 1500 });
    const w = spawnWorker(sys.env, ['--queues', 'claude-test', '--grace', '10']);
    spawned.push(w);
    await w.ready;
    const id = await submit(sys, { prompt: 'drain me', fallback_chain: ['claude-test'] });
    await until(() => sys.fake.inFlight('claude-test') >= 1);
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    // No worker runs any more: what the task shows now is what the signalled worker wrote before it exited.
    const t = await waitFor(sys, id, 5000);
    expect(t.status).toBe('succeeded');
    expect(t.attempts).toHaveLength(1);
    expect(sys.fake.log.filter((l) => l.model === 'claude-test')).toHaveLength(1);
    // In its own log: the signal first (the line is written on receipt), then the attempt it finished afterwards.
    const lines = w.logLines();
    const draining = lines.findIndex((l) => l.msg === 'draining');
    const attempt = lines.findIndex((l) => l.msg === 'attempt' && l.taskId === id);
    expect(draining).toBeGreaterThanOrEqual(0);
    expect(lines[attempt]).toMatchObject({ taskId: id, outcome: 'succeeded', model: 'claude-test' });
    expect(attempt).toBeGreaterThan(draining);
  }, 60_000);
});
