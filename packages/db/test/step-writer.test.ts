import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createStepWriter } from '../src/step-writer.ts';
import { createTaskReader } from '../src/task-reader.ts';
import { insertTask } from '../src/task-store.ts';
import { openPglite, openPostgres, useMigratedDatabase } from './open-test-databases.ts';

describe.each([
  ['postgres', () => openPostgres('step_writer')],
  ['pglite', () => openPglite()],
])('step writer on %s', (_name, open) => {
  const database = useMigratedDatabase(open);

  const newTask = async (taskType = 'code') =>
    (
      await insertTask(database.db, {
        apiKeyId: 'k',
        prompt: 'p',
        params: { maxTokens: 10 },
        plan: ['m'],
        routingReason: 'r',
        taskType,
      })
    ).task;
  const attempt = (taskId: string, n: number, cost: number) => ({
    taskId,
    step: 0,
    attempt: n,
    model: 'm',
    provider: 'openai',
    outcome: 'succeeded' as const,
    inputTokens: 10,
    outputTokens: 5,
    costMicros: cost,
    latencyMs: 3,
    startedAt: new Date(),
  });
  const result = { model: 'm', resultText: 'answer', finishReason: 'stop', usage: null };

  it('groups many jobs set-wise; each gets its own answer; costs and rollup match the attempts', async () => {
    const w = createStepWriter(database.db);
    const tasks = await Promise.all(Array.from({ length: 40 }, () => newTask()));
    const reader = createTaskReader(database.db);
    const claimed = await Promise.all(tasks.map((t) => reader.claim(t.id, 0, 'm', false)));
    expect(claimed.map((t) => t?.status)).toEqual(tasks.map(() => 'running'));
    expect(await Promise.all(tasks.map((t, i) => w.recordAttempt(attempt(t.id, 1, 100 + i), result)))).toEqual(
      tasks.map(() => true),
    );
    const rows = await database.db.execute<{ status: string; cost: string; text: string }>(
      sql`select status, cost_micros as cost, result_text as text from tasks where id in (${sql.join(
        tasks.map((t) => sql`${t.id}::uuid`),
        sql`, `,
      )})`,
    );
    expect(rows.rows.every((r) => r.status === 'succeeded' && r.text === 'answer')).toBe(true);
    const sum = tasks.reduce((s, _t, i) => s + 100 + i, 0);
    expect(rows.rows.reduce((s, r) => s + Number(r.cost), 0)).toBe(sum);
    const roll = await database.db.execute<{ cost: string; requests: number }>(
      sql`select sum(cost_micros) as cost, sum(requests)::int as requests from cost_rollups`,
    );
    expect(Number(roll.rows[0]!.cost)).toBe(sum);
    expect(roll.rows[0]!.requests).toBe(40);
    await w.close();
  });

  it('a re-delivered attempt changes nothing; a finished task is not claimed again', async () => {
    const w = createStepWriter(database.db);
    const t = await newTask();
    expect(await w.recordAttempt(attempt(t.id, 1, 500), result)).toBe(true);
    expect(await w.recordAttempt(attempt(t.id, 1, 500), result)).toBe(false);
    expect(await createTaskReader(database.db).claim(t.id, 0, 'm')).toBeNull();
    const row = await database.db.execute<{ cost: string }>(
      sql`select cost_micros as cost from tasks where id = ${t.id}::uuid`,
    );
    expect(Number(row.rows[0]!.cost)).toBe(500);
    await w.close();
  });

  it('in one group: a result never lands on a cancelled task, but its paid attempt still counts; a free failure counts as a request', async () => {
    const w = createStepWriter(database.db);
    const [cancelled, failing, ok] = await Promise.all([newTask('grouped'), newTask('grouped'), newTask('grouped')]);
    await database.db.execute(sql`update tasks set status = 'cancelled' where id = ${cancelled.id}::uuid`);
    const failed = { ...attempt(failing.id, 1, 0), outcome: 'failed' as const, errorKind: 'server_error' };
    expect(
      await Promise.all([
        w.recordAttempt(attempt(cancelled.id, 1, 40), result),
        w.recordAttempt(failed),
        w.recordAttempt(attempt(ok.id, 1, 2), result),
      ]),
    ).toEqual([true, true, true]);
    const rows = await database.db.execute<{ id: string; status: string; cost: string; text: string | null }>(
      sql`select id, status, cost_micros as cost, result_text as text from tasks where task_type = 'grouped'`,
    );
    const by = new Map(rows.rows.map((r) => [r.id, r]));
    expect(by.get(cancelled.id)).toMatchObject({ status: 'cancelled', text: null });
    expect(Number(by.get(cancelled.id)!.cost)).toBe(40);
    expect(by.get(failing.id)).toMatchObject({ status: 'queued', text: null });
    expect(by.get(ok.id)).toMatchObject({ status: 'succeeded', text: 'answer' });
    const roll = await database.db.execute<{ cost: string; requests: number; failed: number }>(
      sql`select sum(cost_micros) as cost, sum(requests)::int as requests, sum(failed)::int as failed from cost_rollups where task_type = 'grouped'`,
    );
    expect(roll.rows[0]).toMatchObject({ requests: 3, failed: 1 });
    expect(Number(roll.rows[0]!.cost)).toBe(42);
    await w.close();
  });

  it('one bad item (a task that does not exist) fails alone', async () => {
    const w = createStepWriter(database.db);
    const good = await newTask();
    const [a, b] = await Promise.allSettled([
      w.recordAttempt(attempt(good.id, 1, 7), result),
      w.recordAttempt(attempt('00000000-0000-4000-8000-00000000dead', 1, 7), result),
    ]);
    expect(a.status).toBe('fulfilled');
    expect(b.status).toBe('rejected');
    await w.close();
  });

  it('cache hits complete their tasks at $0 with the saving, counted once in the rollup however often delivered', async () => {
    const w = createStepWriter(database.db);
    const cachedTask = async () =>
      (
        await insertTask(database.db, {
          apiKeyId: 'cache-key',
          prompt: 'p',
          params: { maxTokens: 10, cacheTtlSec: 60 },
          plan: ['m'],
          routingReason: 'r',
          taskType: 'faq',
        })
      ).task;
    const tasks = await Promise.all(Array.from({ length: 20 }, cachedTask));
    const hit = (i: number) => ({ ...result, provider: 'openai', savedMicros: 1000 + i });
    // Every hit written twice (a re-delivered job), in the same group as an ordinary answer: the update touches each
    // task once, so the rollup counts it once.
    const other = await cachedTask();
    const done = await Promise.all([
      ...tasks.map((t, i) => w.completeCached(t.id, hit(i))),
      ...tasks.map((t, i) => w.completeCached(t.id, hit(i))),
      w.recordAttempt(attempt(other.id, 1, 500), result),
    ]);
    expect(done.every(Boolean)).toBe(true);
    // Delivered again after that commit: nothing left to complete.
    expect(await Promise.all(tasks.map((t, i) => w.completeCached(t.id, hit(i))))).toEqual(tasks.map(() => false));
    const rows = await database.db.execute<{ status: string; cost: string; cached: boolean; saved: string }>(
      sql`select status, cost_micros as cost, cached, saved_cost_micros as saved from tasks where id in (${sql.join(
        tasks.map((t) => sql`${t.id}::uuid`),
        sql`, `,
      )}) order by saved_cost_micros`,
    );
    expect(rows.rows.map((r) => [r.status, Number(r.cost), r.cached, Number(r.saved)])).toEqual(
      tasks.map((_t, i) => ['succeeded', 0, true, 1000 + i]),
    );
    const roll = await database.db.execute<{ hits: number; saved: string; requests: number; cost: string }>(
      sql`select sum(cache_hits)::int as hits, sum(saved_micros) as saved, sum(requests)::int as requests,
                 sum(cost_micros) as cost
          from cost_rollups where api_key_id = 'cache-key'`,
    );
    const saved = tasks.reduce((s, _t, i) => s + 1000 + i, 0);
    // Hits are not requests; only the ordinary answer was a call and cost anything.
    expect(roll.rows[0]).toMatchObject({ hits: 20, requests: 1 });
    expect(Number(roll.rows[0]!.saved)).toBe(saved);
    expect(Number(roll.rows[0]!.cost)).toBe(500);
    // A finished task is not completed again from the cache.
    expect(await w.completeCached(other.id, hit(0))).toBe(false);
    await w.close();
  });

  it('a re-route keeps its note when the next step was claimed first, adds it once, and leaves a task moved elsewhere', async () => {
    const w = createStepWriter(database.db);
    const reader = createTaskReader(database.db);
    const threeSteps = async () =>
      (
        await insertTask(database.db, {
          apiKeyId: 'k',
          prompt: 'p',
          params: { maxTokens: 10 },
          plan: ['m', 'n', 'o'],
          routingReason: 'r',
        })
      ).task;
    const row = async (id: string) =>
      (
        await database.db.execute<{ step: number; reason: string }>(
          sql`select current_step as step, routing_reason as reason from tasks where id = ${id}::uuid`,
        )
      ).rows[0];
    const [plain, raced, moved] = [await threeSteps(), await threeSteps(), await threeSteps()];
    await w.advance(plain.id, 0, 1, 'm skipped');
    await w.advance(plain.id, 0, 1, 'm skipped'); // the re-route ran again (a re-delivery)
    expect(await row(plain.id)).toEqual({ step: 1, reason: 'r; m skipped' });
    // The next step's job is added before the row moves: its claim got there first.
    expect(await reader.claim(raced.id, 1, 'n', false)).not.toBeNull();
    await w.advance(raced.id, 0, 1, 'm skipped');
    expect(await row(raced.id)).toEqual({ step: 1, reason: 'r; m skipped' });
    await database.db.execute(sql`update tasks set current_step = 2 where id = ${moved.id}::uuid`);
    await w.advance(moved.id, 0, 1, 'm skipped');
    expect(await row(moved.id)).toEqual({ step: 2, reason: 'r' });
    await w.close();
  });
});
