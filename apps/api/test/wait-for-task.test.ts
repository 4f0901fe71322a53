import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createDatabase, type DatabaseHandle, insertTask, runMigrations } from '@orchex/db';
import { createRedis, publishTaskFinished, taskFinishedChannel } from '@orchex/queue';
import { sql } from 'drizzle-orm';
import express from 'express';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type FreshDatabase, freshDatabase } from '../../../test/support/fresh-database.ts';
import { TaskWaiter } from '../src/task-waiter.ts';
import { waitForTask } from '../src/wait-for-task.ts';

// waitForTask on the real parts: Postgres for the task, Redis pub/sub for the announcement, an HTTP server for the
// client that waits (and goes away).
const prefix = `wait-${randomBytes(3).toString('hex')}`;
let fresh: FreshDatabase;
let database: DatabaseHandle;
let waiter: TaskWaiter;
let url: string;
let close: () => Promise<void>;
const publisher = createRedis(inject('redisUrl'));
/** What each waiting request resolved to, by task id. */
const outcomes = new Map<string, { result: string; at: number }>();

beforeAll(async () => {
  fresh = await freshDatabase(inject('databaseUrl'), 'wait_for_task');
  database = await createDatabase({ url: fresh.url });
  await runMigrations(database);
  waiter = new TaskWaiter(createRedis(inject('redisUrl')), taskFinishedChannel(prefix));
  const app = express();
  app.get('/wait/:id', async (req, res) => {
    const owner = typeof req.query.owner === 'string' ? req.query.owner : undefined;
    const id = req.params.id;
    const task = await waitForTask(database.db, waiter, res, id, owner, Date.now() + Number(req.query.ms));
    const result = task === 'gone' ? 'gone' : task === null ? 'not found' : `${task.status}/${task.attempts.length}`;
    outcomes.set(id, { result, at: Date.now() });
    if (task !== 'gone') res.json({ result });
  });
  // As the chat route waits: after reading a request body, whose end closes the request (not the connection).
  app.post('/wait/:id', express.json(), async (req, res) => {
    const id = req.params.id;
    const task = await waitForTask(database.db, waiter, res, id, undefined, Date.now() + Number(req.body.ms));
    outcomes.set(id, { result: task === 'gone' ? 'gone' : String(task?.status), at: Date.now() });
    if (task !== 'gone') res.json({});
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => new Promise((r) => server.close(() => r()));
});
afterAll(async () => {
  await close?.();
  await waiter?.close();
  publisher.disconnect();
  await database?.close();
  await fresh?.drop();
});

const newTask = async () =>
  (
    await insertTask(database.db, {
      apiKeyId: 'owner-key',
      prompt: 'p',
      params: { maxTokens: 10 },
      plan: ['m'],
      routingReason: 'r',
    })
  ).task.id;
const succeed = (id: string) =>
  database.db.execute(sql`update tasks set status = 'succeeded', result_text = 'ok' where id = ${id}::uuid`);
const wait = async (id: string, ms: number, owner = 'owner-key') => {
  const start = Date.now();
  const res = await fetch(`${url}/wait/${id}?ms=${ms}&owner=${owner}`);
  return { body: (await res.json()) as { result: string }, took: Date.now() - start };
};

describe('waitForTask', () => {
  it('wakes on the announcement and answers the ended task', async () => {
    const id = await newTask();
    const pending = wait(id, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    await succeed(id);
    await publishTaskFinished(publisher, prefix, id);
    const { body, took } = await pending;
    expect(body.result).toBe('succeeded/0');
    expect(took).toBeLessThan(1500); // the announcement, not the 2 s re-read, woke it
  });

  it('re-reads Postgres when the announcement is lost', async () => {
    const id = await newTask();
    const pending = wait(id, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    await succeed(id); // no announcement
    const { body, took } = await pending;
    expect(body.result).toBe('succeeded/0');
    expect(took).toBeGreaterThanOrEqual(1500);
    expect(took).toBeLessThan(5000);
  });

  it('answers at once for an ended task, another key, or no task; at the deadline for a task still queued', async () => {
    const done = await newTask();
    await succeed(done);
    expect(await wait(done, 10_000)).toMatchObject({ body: { result: 'succeeded/0' } });
    const queued = await newTask();
    const other = await wait(queued, 10_000, 'another-key');
    expect(other.body.result).toBe('not found');
    expect(other.took).toBeLessThan(1000);
    expect((await wait('00000000-0000-4000-8000-000000000000', 10_000)).body.result).toBe('not found');
    const timedOut = await wait(queued, 700);
    expect(timedOut.body.result).toBe('queued/0');
    expect(timedOut.took).toBeGreaterThanOrEqual(700);
  });

  it.each(['GET', 'POST'])('stops waiting as soon as the client goes away (%s)', async (method) => {
    const id = await newTask();
    const controller = new AbortController();
    const pending = fetch(
      method === 'GET' ? `${url}/wait/${id}?ms=10000&owner=owner-key` : `${url}/wait/${id}`,
      method === 'GET'
        ? { signal: controller.signal }
        : {
            method,
            signal: controller.signal,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ ms: 10_000 }),
          },
    ).catch(() => 0);
    await new Promise((r) => setTimeout(r, 300));
    const abortedAt = Date.now();
    controller.abort();
    await pending;
    await expect.poll(() => outcomes.get(id)?.result, { timeout: 3000 }).toBe('gone');
    expect((outcomes.get(id)?.at ?? 0) - abortedAt).toBeLessThan(1000);
  });
});
