import { queueName } from '@orchex/queue';
import { Queue } from 'bullmq';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivatePostgres, startPrivatePostgres } from '../../../test/support/private-postgres.ts';
import { startSystem, type TestSystem } from '../../../test/support/start-system.ts';
import { submit, waitFor } from '../../../test/support/task-client.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Postgres stops for longer than BullMQ's own retries of a job would last (5 attempts, exponential from 2 s: ~30 s),
 * with one model answer arriving in the middle of the outage and ten tasks waiting to start.
 */
describe('Postgres outage: infrastructure failures are not task failures', () => {
  let pg: PrivatePostgres;
  let sys: TestSystem;
  beforeAll(async () => {
    pg = await startPrivatePostgres();
    sys = await startSystem('pg_outage', { databaseUrl: pg.url, workers: { concurrency: 20 } });
  });
  afterAll(async () => {
    await sys?.close().catch(() => {});
    await pg?.destroy();
  });

  it('every task ends once Postgres is back: no job failed, no answer paid for twice, nothing left in Redis', async () => {
    sys.fake.setDefault('claude-test', { type: 'ok', latencyMs: 4000 });
    sys.fake.setDefault('gpt-test', { type: 'ok', latencyMs: 50 });
    const inFlight = await submit(sys, { prompt: 'answered during the outage', fallback_chain: ['claude-test'] });
    for (let i = 0; i < 50 && sys.fake.inFlight('claude-test') === 0; i++) await sleep(100);
    expect(sys.fake.inFlight('claude-test')).toBe(1);

    // Ten tasks stored but not yet started: their jobs wait behind a paused queue until Postgres is gone.
    const gpt = new Queue(queueName('gpt-test'), { connection: { url: sys.redisUrl }, prefix: sys.prefix });
    await gpt.pause();
    const waiting = await Promise.all(
      Array.from({ length: 10 }, (_, i) => submit(sys, { prompt: `waiting ${i}`, fallback_chain: ['gpt-test'] })),
    );
    await pg.stop();
    await gpt.resume();
    await sleep(36_000); // the claude answer arrives ~4 s in; BullMQ's own retries would be spent by ~30 s
    const failedDuring = await gpt.getJobCounts('failed');
    await pg.start();

    const tasks = await Promise.all([inFlight, ...waiting].map((id) => waitFor(sys, id, 60_000)));
    expect(tasks.map((t) => t.status)).toEqual(Array(11).fill('succeeded'));
    expect(failedDuring.failed).toBe(0);
    expect((await gpt.getJobCounts('failed')).failed).toBe(0);
    // Only model outcomes are attempts: each task has exactly one, successful, and the model was called once each.
    for (const t of tasks) expect(t.attempts.map((a) => a.outcome)).toEqual(['succeeded']);
    const calls = sys.fake.log.filter((e) => e.model === 'claude-test');
    expect(calls).toHaveLength(1);
    expect(sys.fake.log.filter((e) => e.model === 'gpt-test')).toHaveLength(10);
    // The answer that arrived during the outage was recorded once, at its cost.
    expect(tasks[0]!.cost).toBeGreaterThan(0);
    expect(tasks[0]!.cost).toBeCloseTo(tasks[0]!.attempts[0]!.cost, 9);
    const rollup = await sys.database.db.execute<{ micros: string }>(
      sql`select coalesce(sum(cost_micros), 0) as micros from cost_rollups`,
    );
    const spent = tasks.reduce((s, t) => s + t.cost, 0);
    expect(Number(rollup.rows[0]!.micros) / 1e6).toBeCloseTo(spent, 6);
    // The answer kept in Redis during the outage is gone once written.
    const redis = new Redis(sys.redisUrl);
    expect(await redis.keys(`${sys.prefix}:*:pending:*`)).toEqual([]);
    redis.disconnect();
    await gpt.close();
  }, 150_000);
});
