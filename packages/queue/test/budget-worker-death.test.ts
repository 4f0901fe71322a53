import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, TEST_ADMIN_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import { submit, waitFor } from '../../../test/support/task-client.ts';
import { testConfigSource } from '../../../test/support/test-config.ts';
import { spawnWorker } from '../../../test/support/worker-process.ts';
import { BudgetLedger } from '../src/index.ts';

const budget = async (sys: TestSystem) =>
  (await (await sys.call('/v1/budget', { key: TEST_ADMIN_KEY })).json()) as {
    day: string;
    spent: number;
    reserved: number;
    limit: number | null;
  };

// A hold lives for the call's timeout + 15 s (ttlMs in packages/queue/src/step/execute-step.ts): longer than the call
// can run, so a live worker always settles first, and not much longer, so a dead worker's money comes back.
const TIMEOUT_S = 3;
const HOLD_TTL_MS = TIMEOUT_S * 1000 + 15_000;

describe('budget holds of a dead worker expire', () => {
  let sys: TestSystem;
  let redis: Redis;
  beforeAll(async () => {
    sys = await startSystem('budget_death', {
      workers: false,
      configSource: testConfigSource({ cost_limits: { max_daily_cost: 10 } }),
    });
    redis = new Redis(sys.redisUrl);
  });
  afterAll(async () => {
    await redis?.quit();
    await sys?.close();
  });

  /** Redis's clock, which times the holds. */
  const redisNow = async () => {
    const [s, us] = await redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };

  it("a worker killed mid-call: its hold outlives the kill and is freed at the hold's expiry (timeout + 15 s), not before", async () => {
    sys.fake.setDefault('claude-test', { type: 'hang' });
    const w = spawnWorker(sys.env, ['--queues', 'claude-test']);
    await w.ready;
    const submittedAt = await redisNow();
    const id = await submit(sys, { prompt: 'never answered', fallback_chain: ['claude-test'], timeout: TIMEOUT_S });
    // The call is at the provider, so its hold was reserved; kill the worker before the call's timeout ends it.
    for (const end = Date.now() + 20_000; sys.fake.inFlight('claude-test') < 1; ) {
      if (Date.now() > end) throw new Error('the call never reached the provider');
      await new Promise((r) => setTimeout(r, 10));
    }
    w.proc.kill('SIGKILL');
    await w.exited;
    const seenAt = await redisNow();

    const held = await budget(sys);
    expect(held.reserved).toBeGreaterThan(0);
    expect(held.spent).toBe(0);
    // The ledger's own record of the hold: one reservation of this task, expiring one TTL after it was made.
    const expiry = await redis.zrange(
      new BudgetLedger(redis, { prefix: sys.prefix }).keys(held.day).expiry,
      0,
      -1,
      'WITHSCORES',
    );
    expect(expiry).toHaveLength(2);
    expect(expiry[0]).toMatch(new RegExp(`^${id}\\.`));
    const expiresAt = Number(expiry[1]);
    expect(expiresAt).toBeGreaterThanOrEqual(submittedAt + HOLD_TTL_MS);
    expect(expiresAt).toBeLessThanOrEqual(seenAt + HOLD_TTL_MS);

    // Read the budget (which frees expired holds) until Redis's clock is past the expiry, timing each read by it.
    const reads: Array<{ before: number; after: number; reserved: number }> = [];
    for (const end = Date.now() + HOLD_TTL_MS + 30_000; ; ) {
      const before = await redisNow();
      const { reserved } = await budget(sys);
      reads.push({ before, after: await redisNow(), reserved });
      if (before > expiresAt) break;
      if (Date.now() > end) throw new Error(`Redis's clock never passed the hold's expiry: ${JSON.stringify(reads)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // Every read that ended before the expiry still saw the whole hold: nothing freed it early.
    const early = reads.filter((r) => r.after < expiresAt);
    expect(early.length).toBeGreaterThan(0);
    for (const r of early) expect(r.reserved).toBe(held.reserved);
    // The first read that began after the expiry found it freed, and nothing was spent.
    const late = await budget(sys);
    expect(reads.at(-1)?.reserved).toBe(0);
    expect(late).toMatchObject({ reserved: 0, spent: 0 });
  }, 90_000);
});

describe('alert threshold', () => {
  let sys: TestSystem;
  const received: Array<Record<string, unknown>> = [];
  const hook = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push(JSON.parse(body) as Record<string, unknown>);
      res.end('ok');
    });
  });
  beforeAll(async () => {
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    sys = await startSystem('budget_alert', {
      configSource: testConfigSource({ cost_limits: { max_daily_cost: 10, alert_threshold: 0.000001 } }),
      workers: { alertWebhook: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook` },
    });
  });
  afterAll(async () => {
    await sys?.close();
    hook.close();
  });

  it('crossing alert_threshold POSTs the webhook once a day', async () => {
    for (let i = 0; i < 3; i++) {
      expect(
        (await waitFor(sys, await submit(sys, { prompt: `spend ${i}`, fallback_chain: ['claude-test'] }))).status,
      ).toBe('succeeded');
    }
    // The POST is sent after the settle, off the task's path: wait for it as long as a loaded machine needs.
    for (const end = Date.now() + 30_000; received.length === 0 && Date.now() < end; )
      await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300));
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      event: 'budget.alert_threshold_crossed',
      alert_threshold: 0.000001,
      limit: 10,
    });
    expect(received[0]!.spent).toBeGreaterThan(0);
    // The metric: GET /v1/budget says today's alert fired.
    const global = await sys.call('/v1/budget', { key: TEST_ADMIN_KEY });
    expect(((await global.json()) as { alert_triggered: boolean }).alert_triggered).toBe(true);
  });
});
