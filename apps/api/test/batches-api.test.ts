import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '@orchex/core';
import { attempts, batches, tasks } from '@orchex/db';
import { ModelQueues, queueName } from '@orchex/queue';
import { Queue } from 'bullmq';
import { eq, sql } from 'drizzle-orm';
import express from 'express';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OTHER_API_KEY,
  startSystem,
  TEST_ADMIN_KEY,
  TEST_API_KEY,
  type TestSystem,
} from '../../../test/support/start-system.ts';
import { testConfig } from '../../../test/support/test-config.ts';
import { keyIdWith, requireApiKey } from '../src/auth.ts';
import { batchRoutes } from '../src/batch-routes.ts';
import { errorHandler } from '../src/http-errors.ts';

interface BatchJson {
  id: string;
  name: string | null;
  size: number;
  status: string;
  counts: { queued: number; running: number; succeeded: number; failed: number; cancelled: number };
  cost: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}
interface ResultJson {
  index: number;
  id: string;
  status: string;
  content: string | null;
  model: string | null;
  cost: number;
  metadata: { i: number } | null;
  error: { kind: string } | null;
}
interface ErrorJson {
  error: { code: string; message: string; fields?: Array<{ field: string; message: string }> };
}

const TYPES = ['code', 'research', 'simple', 'long_context'] as const;
const FIRST_MODEL: Record<(typeof TYPES)[number], string> = {
  code: 'claude-test',
  research: 'gpt-test',
  simple: 'llama-test',
  long_context: 'gemini-test',
};

async function waitFinished(sys: TestSystem, id: string, timeoutMs = 150_000): Promise<BatchJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const b = (await (await sys.call(`/v1/batches/${id}`)).json()) as BatchJson;
    if (b.finished_at || Date.now() > deadline) return b;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls `check` until it holds (the API removes cancelled jobs after answering). */
async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function allResults(
  sys: TestSystem,
  id: string,
  limit: number,
): Promise<{ results: ResultJson[]; pages: number }> {
  const results: ResultJson[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res = await sys.call(`/v1/batches/${id}/results?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as { results: ResultJson[]; next_cursor: string | null };
    results.push(...page.results);
    cursor = page.next_cursor;
    pages++;
  } while (cursor);
  return { results, pages };
}

describe('a batch of 1,000 tasks across four models', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    const fast = { rpm: 1_000_000, max_concurrency: 200 };
    sys = await startSystem('batch_1k', {
      config: testConfig({
        models: { 'claude-test': fast, 'gpt-test': fast, 'gemini-test': fast, 'llama-test': fast },
      }),
      workers: { concurrency: 50 },
    });
  });
  afterAll(async () => sys?.close());

  it('completes; counts, per-model distribution and cost match the attempts table; results page in order', async () => {
    const size = 1000;
    const body = {
      name: 'thousand',
      tasks: Array.from({ length: size }, (_, i) => ({
        prompt: `Task number ${i}: say something short`,
        task_type: TYPES[i % TYPES.length],
        max_tokens: 50,
        metadata: { i },
      })),
    };
    const res = await sys.call('/v1/batches', { method: 'POST', json: body });
    expect(res.status).toBe(202);
    const { id, size: got } = (await res.json()) as { id: string; size: number };
    expect(got).toBe(size);
    expect(res.headers.get('location')).toBe(`/v1/batches/${id}`);

    const b = await waitFinished(sys, id);
    expect(b).toMatchObject({ id, name: 'thousand', size, status: 'completed' });
    expect(b.counts).toEqual({ queued: 0, running: 0, succeeded: size, failed: 0, cancelled: 0 });
    expect(b.started_at).not.toBeNull();
    expect(new Date(b.finished_at!).getTime()).toBeGreaterThanOrEqual(new Date(b.started_at!).getTime());

    // The attempts table is the ground truth for models and money.
    const db = sys.database.db;
    const byModel = await db
      .select({ model: attempts.model, n: sql<number>`count(*)::int`, cost: sql<string>`sum(${attempts.costMicros})` })
      .from(attempts)
      .innerJoin(tasks, eq(tasks.id, attempts.taskId))
      .where(eq(tasks.batchId, id))
      .groupBy(attempts.model);
    const dist = Object.fromEntries(byModel.map((r) => [r.model, r.n]));
    expect(dist).toEqual({ 'claude-test': 250, 'gpt-test': 250, 'llama-test': 250, 'gemini-test': 250 });
    const totalMicros = byModel.reduce((s, r) => s + Number(r.cost), 0);
    expect(Math.round(b.cost * 1e6)).toBe(totalMicros);
    expect(totalMicros).toBeGreaterThan(0);

    const { results, pages } = await allResults(sys, id, 300);
    expect(pages).toBe(4);
    expect(results.map((r) => r.index)).toEqual(Array.from({ length: size }, (_, i) => i));
    for (const r of results) {
      expect(r.metadata?.i).toBe(r.index);
      expect(r.status).toBe('succeeded');
      const model = FIRST_MODEL[TYPES[r.index % TYPES.length]!];
      expect(r.model).toBe(model);
      expect(r.content).toContain(`fake answer from ${model}`);
      expect(r).not.toHaveProperty('attempts');
    }
    const summed = results.reduce((s, r) => s + Math.round(r.cost * 1e6), 0);
    expect(summed).toBe(totalMicros);
  }, 180_000); // a loaded 2-CPU CI machine runs this in 10–30 s
});

describe('cancelling a running batch', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    // Two calls at a time, 100 ms each: a 200-task batch is mid-way for several seconds, even on a loaded machine.
    sys = await startSystem('batch_cancel', { workers: { concurrency: 2 } });
    sys.fake.setDefault('*', { type: 'ok', latencyMs: 100 });
  });
  afterAll(async () => sys?.close());

  it('cancels the tasks not started, lets running ones finish, and never calls the provider for a cancelled task', async () => {
    const size = 200;
    const res = await sys.call('/v1/batches', {
      method: 'POST',
      json: {
        tasks: Array.from({ length: size }, (_, i) => ({
          prompt: `cancel me ${i}`,
          task_type: 'code',
          max_tokens: 20,
        })),
      },
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    for (let b: BatchJson; ; await new Promise((r) => setTimeout(r, 20))) {
      b = (await (await sys.call(`/v1/batches/${id}`)).json()) as BatchJson;
      if (b.counts.succeeded >= 4) break;
    }

    const cancel = await sys.call(`/v1/batches/${id}/cancel`, { method: 'POST' });
    expect(cancel.status).toBe(200);
    const { cancelled } = (await cancel.json()) as { cancelled: number };
    expect(cancelled).toBeGreaterThan(0);
    expect(cancelled).toBeLessThanOrEqual(size - 4);

    const b = await waitFinished(sys, id);
    expect(b.status).toBe('cancelled');
    expect(b.counts.cancelled).toBe(cancelled);
    expect(b.counts.succeeded + b.counts.cancelled).toBe(size);
    expect(b.counts.failed).toBe(0);

    // Give any left-behind job a chance to (wrongly) run before counting provider calls.
    await new Promise((r) => setTimeout(r, 300));
    const rows = await sys.database.db
      .select({
        status: tasks.status,
        startedAt: tasks.startedAt,
        n: sql<number>`(select count(*)::int from attempts a where a.task_id = "tasks"."id")`,
      })
      .from(tasks)
      .where(eq(tasks.batchId, id));
    for (const r of rows.filter((r) => r.status === 'cancelled')) {
      expect(r.n).toBe(0);
      expect(r.startedAt).toBeNull();
    }
    expect(sys.fake.log.filter((l) => l.model === 'claude-test')).toHaveLength(b.counts.succeeded);

    const { results } = await allResults(sys, id, 1000);
    const firstCancelled = results.find((r) => r.status === 'cancelled');
    expect(firstCancelled?.error?.kind).toBe('cancelled');

    const queue = new Queue(queueName('claude-test'), { connection: { url: sys.redisUrl }, prefix: sys.prefix });
    await waitFor(async () => (await queue.getWaitingCount()) === 0);
    await queue.close();

    // Cancelling again is harmless.
    const again = await sys.call(`/v1/batches/${id}/cancel`, { method: 'POST' });
    expect(await again.json()).toEqual({ cancelled: 0 });
  });
});

describe('batch validation, idempotency, visibility', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem('batch_api', {
      workers: false,
      config: testConfig({ cost_limits: { max_per_request: 1 } }),
    });
  });
  afterAll(async () => sys?.close());

  const ok = (i: number) => ({ prompt: `ok ${i}`, task_type: 'simple' });
  const batchCount = async () => (await sys.database.db.select({ n: sql<number>`count(*)::int` }).from(batches))[0]!.n;
  const taskCount = async () => (await sys.database.db.select({ n: sql<number>`count(*)::int` }).from(tasks))[0]!.n;

  it('a bad task rejects the whole batch; errors name the index and field', async () => {
    const [b0, t0] = [await batchCount(), await taskCount()];
    const list: unknown[] = Array.from({ length: 20 }, (_, i) => ok(i));
    list[3] = { prompt: 'hi', promt: 'typo' };
    list[5] = { prompt: 'hi', fallback_chain: ['gpt-test', 'gpt-9'] };
    list[12] = { prompt: 'hi', max_tokens: -1 };
    list[14] = { prompt: 'hi', idempotency_key: 'k' };
    list[15] = 'not an object';
    const res = await sys.call('/v1/batches', { method: 'POST', json: { tasks: list } });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as ErrorJson;
    expect(error.code).toBe('validation_error');
    const fields = error.fields!.map((f) => f.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'tasks.3',
        'tasks.5.fallback_chain.1',
        'tasks.12.max_tokens',
        'tasks.14.idempotency_key',
        'tasks.15',
      ]),
    );
    expect(error.message).toMatch(/^5 of 20 tasks are invalid/);
    expect(error.message).toContain('tasks.12.max_tokens: must be at least 1');
    expect([await batchCount(), await taskCount()]).toEqual([b0, t0]);
  });

  it('lists at most 50 issues', async () => {
    const res = await sys.call('/v1/batches', {
      method: 'POST',
      json: { tasks: Array.from({ length: 80 }, () => ({ prompt: '' })) },
    });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as ErrorJson;
    expect(error.fields).toHaveLength(50);
    expect(error.message).toMatch(/^80 of 80 tasks are invalid.*\(30 more issues not listed\)$/);
  });

  it.each([
    ['no tasks', { tasks: [] }, 'tasks'],
    ['too many tasks', { tasks: Array.from({ length: 10_001 }, () => ({ prompt: 'x' })) }, 'tasks'],
    ['tasks not a list', { tasks: { prompt: 'x' } }, 'tasks'],
    ['unknown field', { tasks: [{ prompt: 'x' }], nmae: 'typo' }, '(root)'],
  ])('%s → 400 naming the field', async (_n, body, field) => {
    const res = await sys.call('/v1/batches', { method: 'POST', json: body });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorJson).error.fields?.map((f) => f.field)).toContain(field);
  });

  it('a task over cost_limits.max_per_request → 422 naming its index, nothing accepted', async () => {
    const b0 = await batchCount();
    const res = await sys.call('/v1/batches', {
      method: 'POST',
      json: { tasks: [ok(0), ok(1), { prompt: 'big', task_type: 'code', max_tokens: 100_000 }] },
    });
    expect(res.status).toBe(422);
    const { error } = (await res.json()) as ErrorJson;
    expect(error.code).toBe('over_max_per_request');
    expect(error.fields?.map((f) => f.field)).toEqual(['tasks.2']);
    expect(error.message).toContain('tasks.2: estimated worst-case cost $1.5');
    expect(await batchCount()).toBe(b0);
  });

  it('a 10,000-task batch fits (its own body limit), inserts in bulk in order, and cancels in one go', async () => {
    const body = {
      tasks: Array.from({ length: 10_000 }, (_, i) => ({
        prompt: `${'lorem ipsum '.repeat(20)} ${i}`,
        task_type: 'simple',
      })),
    };
    expect(JSON.stringify(body).length).toBeGreaterThan(2 * 1024 * 1024); // over the API's 1 MB test limit for /v1/tasks
    const res = await sys.call('/v1/batches', { method: 'POST', json: body });
    expect(res.status).toBe(202);
    const { id, size } = (await res.json()) as { id: string; size: number };
    expect(size).toBe(10_000);
    const [row] = await sys.database.db
      .select({ n: sql<number>`count(*)::int`, lo: sql<number>`min(batch_index)`, hi: sql<number>`max(batch_index)` })
      .from(tasks)
      .where(eq(tasks.batchId, id));
    expect(row).toEqual({ n: 10_000, lo: 0, hi: 9_999 });
    const queue = new Queue(queueName('llama-test'), { connection: { url: sys.redisUrl }, prefix: sys.prefix });
    expect(await queue.getWaitingCount()).toBeGreaterThanOrEqual(10_000);

    const cancel = await sys.call(`/v1/batches/${id}/cancel`, { method: 'POST' });
    expect(await cancel.json()).toEqual({ cancelled: 10_000 });
    await waitFor(async () => (await queue.getWaitingCount()) === 0);
    await queue.close();
    const b = (await (await sys.call(`/v1/batches/${id}`)).json()) as BatchJson;
    expect(b).toMatchObject({
      status: 'cancelled',
      counts: { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 10_000 },
    });
    expect(b.finished_at).not.toBeNull();
    expect(b.started_at).toBeNull();
  });

  it('the same idempotency_key from the same key returns the first batch; another key gets its own', async () => {
    const body = { tasks: [ok(0), ok(1)], idempotency_key: 'batch-idem-1' };
    const [a, b] = await Promise.all([
      sys.call('/v1/batches', { method: 'POST', json: body }),
      sys.call('/v1/batches', { method: 'POST', json: body }),
    ]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual([200, 202]);
    const [ja, jb] = (await Promise.all([a.json(), b.json()])) as Array<{ id: string; size: number }>;
    expect(ja!.id).toBe(jb!.id);
    const replay = await sys.call('/v1/batches', { method: 'POST', json: body });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.json()).toEqual({ id: ja!.id, size: 2 });
    const [{ n }] = (await sys.database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(tasks)
      .where(eq(tasks.batchId, ja!.id))) as [{ n: number }];
    expect(n).toBe(2);

    const other = await sys.call('/v1/batches', { method: 'POST', json: body, key: OTHER_API_KEY });
    expect(other.status).toBe(202);
    expect(((await other.json()) as { id: string }).id).not.toBe(ja!.id);
  });

  it("another key's batch → 404 on every route; the admin key sees it", async () => {
    const res = await sys.call('/v1/batches', { method: 'POST', json: { tasks: [ok(0)] } });
    const { id } = (await res.json()) as { id: string };
    for (const [path, method] of [
      [`/v1/batches/${id}`, 'GET'],
      [`/v1/batches/${id}/results`, 'GET'],
      [`/v1/batches/${id}/cancel`, 'POST'],
    ] as const) {
      expect((await sys.call(path, { method, key: OTHER_API_KEY })).status).toBe(404);
    }
    expect((await sys.call(`/v1/batches/${id}`, { key: TEST_ADMIN_KEY })).status).toBe(200);
    expect((await sys.call(`/v1/batches/${id}/results`, { key: TEST_ADMIN_KEY })).status).toBe(200);
    expect((await sys.call('/v1/batches/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await sys.call('/v1/batches/not-a-uuid')).status).toBe(400);
  });

  it('results: bad cursor or limit → 400; a fresh batch pages its queued tasks', async () => {
    const res = await sys.call('/v1/batches', { method: 'POST', json: { tasks: [ok(0), ok(1), ok(2)] } });
    const { id } = (await res.json()) as { id: string };
    expect((await sys.call(`/v1/batches/${id}/results?cursor=abc`)).status).toBe(400);
    expect((await sys.call(`/v1/batches/${id}/results?limit=1001`)).status).toBe(400);
    expect((await sys.call(`/v1/batches/${id}/results?limit=0`)).status).toBe(400);
    const page1 = (await (await sys.call(`/v1/batches/${id}/results?limit=2`)).json()) as {
      results: ResultJson[];
      next_cursor: string;
    };
    expect(page1.results.map((r) => [r.index, r.status])).toEqual([
      [0, 'queued'],
      [1, 'queued'],
    ]);
    const page2 = (await (await sys.call(`/v1/batches/${id}/results?limit=2&cursor=${page1.next_cursor}`)).json()) as {
      results: ResultJson[];
      next_cursor: string | null;
    };
    expect(page2.results.map((r) => r.index)).toEqual([2]);
    expect(page2.next_cursor).toBeNull();
  });

  it('enqueue failure → 503 and the batch rows are removed (nothing accepted is left queued)', async () => {
    // The real route on the real database, with a queue connection that cannot reach Redis.
    const dead = new Redis('redis://127.0.0.1:1', {
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    dead.on('error', () => {});
    const queues = new ModelQueues(sys.config, dead, `${sys.prefix}-dead`);
    for (const q of queues.all()) q.on('error', () => {});
    const app = express();
    app.use(
      '/v1',
      requireApiKey([TEST_API_KEY], undefined, keyIdWith('a-test-secret-of-32-characters-00')),
      batchRoutes({ config: sys.config, db: sys.database.db, queues, logger: silentLogger }),
    );
    app.use(errorHandler(() => {}));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const [b0, t0] = [await batchCount(), await taskCount()];
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/batches`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ tasks: [ok(0), ok(1)], idempotency_key: 'will-fail' }),
      });
      expect(res.status).toBe(503);
      expect(((await res.json()) as ErrorJson).error.code).toBe('queue_unavailable');
      expect([await batchCount(), await taskCount()]).toEqual([b0, t0]);
    } finally {
      server.close();
      await queues.close().catch(() => {});
      dead.disconnect();
    }
  });
});
