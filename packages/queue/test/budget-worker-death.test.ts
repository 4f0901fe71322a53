import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type TestSystem } from '../../../test/support/start-system.ts';
import { submit, waitFor } from '../../../test/support/task-client.ts';
import { testConfigSource } from '../../../test/support/test-config.ts';
import { spawnWorker } from '../../../test/support/worker-process.ts';

const budget = async (sys: TestSystem) =>
  (await (await sys.call('/v1/budget')).json()) as { spent: number; reserved: number; limit: number | null };

describe('budget holds of a dead worker expire', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem('budget_death', {
      workers: false,
      configSource: testConfigSource({ cost_limits: { max_daily_cost: 10 } }),
    });
  });
  afterAll(async () => sys?.close());

  it('a worker killed between reservation and settlement does not hold the budget for ever', async () => {
    sys.fake.setDefault('claude-test', { type: 'hang' });
    const w = spawnWorker(sys.env, ['--queues', 'claude-test']);
    await w.ready;
    await submit(sys, { prompt: 'never answered', fallback_chain: ['claude-test'], timeout: 1 });
    const until = async (cond: (b: Awaited<ReturnType<typeof budget>>) => boolean, ms: number) => {
      const end = Date.now() + ms;
      for (;;) {
        const b = await budget(sys);
        if (cond(b)) return b;
        if (Date.now() > end) throw new Error(`budget state not reached: ${JSON.stringify(b)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    await until((b) => b.reserved > 0, 10_000);
    w.proc.kill('SIGKILL');
    await w.exited;
    // The hold lives for the call's timeout (1 s) + 15 s, then any reservation or read frees it.
    const freed = await until((b) => b.reserved === 0, 30_000);
    expect(freed.spent).toBe(0);
  }, 60_000);
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
    for (let i = 0; i < 50 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300));
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      event: 'budget.alert_threshold_crossed',
      alert_threshold: 0.000001,
      limit: 10,
    });
    expect(received[0]!.spent).toBeGreaterThan(0);
    // The metric: GET /v1/budget says today's alert fired.
    expect(((await (await sys.call('/v1/budget')).json()) as { alert_triggered: boolean }).alert_triggered).toBe(true);
  });
});
