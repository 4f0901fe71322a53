import { type ChildProcess, spawn } from 'node:child_process';
import { silentLogger } from '@orchex/core';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { startSystem, type TestSystem } from '../../../test/support/start-system.ts';
import { submit, waitFor } from '../../../test/support/task-client.ts';
import { createRedis, ModelQueues, stepJobId, sweepOrphans } from '../src/index.ts';

/** A private Redis (no persistence, like the test machine's) that this file may kill and restart. */
function startRedis(port: number): ChildProcess {
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
}
async function waitForRedis(url: string) {
  const c = createRedis(url);
  for (let i = 0; i < 100; i++) {
    try {
      if ((await c.ping()) === 'PONG') break;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  c.disconnect();
}

describe('Redis outages', () => {
  let port: number;
  let redis: ChildProcess;
  let sys: TestSystem;
  beforeAll(async () => {
    port = await freePort();
    redis = startRedis(port);
    await waitForRedis(`redis://127.0.0.1:${port}`);
    sys = await startSystem('redis_outage', { redisUrl: `redis://127.0.0.1:${port}` });
  });
  afterAll(async () => {
    await sys?.close();
    redis?.kill('SIGKILL');
  });

  it('API and workers reconnect after Redis restarts, and new tasks run', async () => {
    expect((await waitFor(sys, await submit(sys, { prompt: 'before', task_type: 'code' }))).status).toBe('succeeded');
    redis.kill('SIGKILL');
    await new Promise((r) => redis.once('exit', r));
    // The API notices on its own: health turns 503 while Redis stays down.
    for (const end = Date.now() + 30_000; (await fetch(`${sys.url}/healthz`)).status !== 503; ) {
      if (Date.now() > end) throw new Error('/healthz never answered 503 while Redis was down');
      await new Promise((r) => setTimeout(r, 100));
    }
    // A submit while Redis is down is refused (503, nothing stored) without waiting for Redis to return: Redis stays
    // down until the answer is in, so a submit queued behind the reconnection would never be answered. (The abort
    // only turns that hang into a failure here instead of at the test's timeout; it is no speed limit.)
    const down = await sys.call('/v1/tasks', {
      method: 'POST',
      json: { prompt: 'during', task_type: 'code' },
      signal: AbortSignal.timeout(30_000),
    });
    expect(down.status).toBe(503);
    const stored = await sys.database.db.execute<{ n: number }>(
      sql`select count(*)::int as n from tasks where prompt = 'during'`,
    );
    expect(stored.rows[0]!.n).toBe(0);
    redis = startRedis(port);
    await waitForRedis(`redis://127.0.0.1:${port}`);
    // The first submits may meet a connection still reconnecting: the API answers 503 and accepts nothing.
    let id: string | undefined;
    for (let i = 0; i < 40 && !id; i++) {
      const res = await sys.call('/v1/tasks', { method: 'POST', json: { prompt: 'after', task_type: 'code' } });
      if (res.status === 202) id = ((await res.json()) as { id: string }).id;
      else {
        expect(res.status).toBe(503);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    expect(id).toBeDefined();
    expect((await waitFor(sys, id!, 30_000)).status).toBe('succeeded');
    expect((await fetch(`${sys.url}/healthz`)).status).toBe(200);
  }, 60_000);

  it('a task whose job Redis lost is re-enqueued by the orphan sweep and completes', async () => {
    const queues = new ModelQueues(sys.config, createRedis(sys.redisUrl), sys.prefix);
    // Simulate data loss: the job of a queued task disappears (and no worker has taken it yet: pause the queue).
    await queues.get('claude-test').pause();
    const id = await submit(sys, { prompt: 'lost job', task_type: 'code' });
    await (await queues.get('claude-test').getJob(stepJobId(id, 0)))!.remove();
    await sys.database.db.execute(
      sql`update tasks set created_at = now() - interval '5 minutes', updated_at = now() - interval '5 minutes' where id = ${id}::uuid`,
    );
    await queues.get('claude-test').resume();
    expect(await sweepOrphans(sys.database.db, queues, silentLogger)).toBeGreaterThanOrEqual(1);
    expect((await waitFor(sys, id, 30_000)).status).toBe('succeeded');
    // Sweeping again finds nothing: the task is terminal.
    expect(await sweepOrphans(sys.database.db, queues, silentLogger)).toBe(0);
    await queues.close();
    queues.connection.disconnect();
  }, 60_000);
});
