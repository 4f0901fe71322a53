import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type TestSystem } from '../../../test/support/start-system.ts';
import { submit, waitFor } from '../../../test/support/task-client.ts';
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

  it('kill -9 mid-call, start another worker: every task ends once, one result, no duplicate attempts', async () => {
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

    const rows = await sys.database.db.execute<{
      task_id: string;
      succeeded: number;
      total: number;
      distinct_keys: number;
    }>(sql`
      select task_id, count(*) filter (where outcome = 'succeeded')::int as succeeded, count(*)::int as total,
             count(distinct (step, attempt))::int as distinct_keys
      from attempts where task_id in (${sql.join(
        ids.map((id) => sql`${id}::uuid`),
        sql`, `,
      )}) group by task_id`);
    expect(rows.rows).toHaveLength(6);
    for (const r of rows.rows) {
      expect(r.succeeded).toBe(1);
      expect(r.distinct_keys).toBe(r.total);
    }
    // The dead worker's calls were made (the fake answered into a closed socket), then each task ran again once.
    expect(sys.fake.log.filter((l) => l.model === 'claude-test').length).toBe(12);
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

  it('SIGTERM drains: the running call finishes and is recorded, then the process exits 0', async () => {
    sys.fake.setDefault('claude-test', { type: 'ok', latencyMs: 1500 });
    const w = spawnWorker(sys.env, ['--queues', 'claude-test', '--grace', '10']);
    spawned.push(w);
    await w.ready;
    const id = await submit(sys, { prompt: 'drain me', fallback_chain: ['claude-test'] });
    await until(() => sys.fake.inFlight('claude-test') >= 1);
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    const t = await waitFor(sys, id, 5000);
    expect(t.status).toBe('succeeded');
    expect(w.output()).toMatch(/draining/);
  }, 60_000);
});
