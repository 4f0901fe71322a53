import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { afterAll, expect, inject, it } from 'vitest';
import { ModelLimiter } from '../src/limits/index.ts';

const PREFIX = `test:limits-workload:${randomUUID()}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const clients = [0, 1, 2].map(() => new Redis(inject('redisUrl')));

afterAll(async () => {
  const keys = await clients[0]?.keys(`${PREFIX}:*`);
  if (keys?.length) await clients[0]?.del(...keys);
  await Promise.all(clients.map((c) => c.quit()));
});

it('never has more than K holders nor more than rpm starts per window under a random workload from 3 clients', async () => {
  const K = 4;
  const limits = { rpm: 40, maxConcurrency: K };
  const windowMs = 1000;
  const limiters = clients.map(
    (c) => new ModelLimiter(c, { prefix: PREFIX, windowMs, marginMs: 0, concurrencyPollMs: 20 }),
  );
  // Holding intervals on this process's monotonic clock, each inside the lease Redis granted: from after acquire
  // returned until before release is sent — or, for a worker that "dies", until its lease's expiry counted from
  // before the acquire was sent, less 1 ms because Redis stamps the lease with TIME truncated to the ms. Overlap of
  // these intervals can only undercount true overlap, never overcount.
  const holds: Array<[number, number]> = [];
  const starts: number[] = [];
  const until = performance.now() + 3000;

  const contender = async (l: ModelLimiter) => {
    while (performance.now() < until) {
      const dies = Math.random() < 0.1;
      const leaseMs = dies ? 100 : 5000;
      const sent = performance.now();
      const r = await l.acquire('m', limits, { estimatedTokens: 0, leaseMs, holder: 'w' });
      if (!r.ok) {
        await sleep(Math.min(r.retryInMs, 25) * Math.random());
        continue;
      }
      const got = performance.now();
      starts.push(r.acquiredAtMs);
      if (dies) {
        holds.push([got, sent + leaseMs - 1]);
        continue;
      }
      await sleep(5 + Math.random() * 25);
      holds.push([got, performance.now()]);
      await l.release('m', r.leaseId);
    }
  };
  await Promise.all(limiters.flatMap((l) => Array.from({ length: 6 }, () => contender(l))));

  const events = holds.flatMap(([a, b]) => [
    [a, 1],
    [b, -1],
  ]);
  events.sort((x, y) => (x[0] ?? 0) - (y[0] ?? 0) || (x[1] ?? 0) - (y[1] ?? 0));
  let now = 0;
  let peak = 0;
  for (const [, d] of events) {
    now += d ?? 0;
    peak = Math.max(peak, now);
  }
  expect(holds.length).toBeGreaterThan(40);
  expect(peak).toBeLessThanOrEqual(K);
  expect(peak).toBeGreaterThanOrEqual(K - 1);

  starts.sort((a, b) => a - b);
  for (const s of starts) expect(starts.filter((t) => t >= s && t < s + windowMs).length).toBeLessThanOrEqual(40);
});
