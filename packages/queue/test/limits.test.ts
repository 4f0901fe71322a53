import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useRedisClients } from '../../../test/support/redis-clients.ts';
import { bracketed, untilRedisTime } from '../../../test/support/redis-clock.ts';
import { ModelLimiter, type ModelLimiterOptions } from '../src/limits/index.ts';

const FILE_PREFIX = `test:limits:${randomUUID()}`;
const clients = useRedisClients(5, FILE_PREFIX);
/** Any one client: they share one server, hence one clock. */
const clock = () => {
  const c = clients[0];
  if (!c) throw new Error('no client');
  return c;
};

/** One limiter per client, on a prefix of this test only. */
function limiters(options: ModelLimiterOptions = {}): ModelLimiter[] {
  const prefix = `${FILE_PREFIX}:${randomUUID()}`;
  return clients.map((c) => new ModelLimiter(c, { prefix, ...options }));
}

const lease = { estimatedTokens: 0, leaseMs: 10_000, holder: 'test' };

describe('rpm sliding window', () => {
  // Windows here are seconds long and every wait and bound is read off Redis's clock, so a loaded machine (slow
  // sleeps, slow round trips) changes when things happen, never what the limiter must answer.
  it('denies the 6th of rpm 5 until the first leaves the window, then allows one', async () => {
    const WINDOW = 3000;
    const [l] = limiters({ windowMs: WINDOW, marginMs: 0 });
    if (!l) throw new Error('no limiter');
    const limits = { rpm: 5, maxConcurrency: 100 };
    const first = await l.acquire('m', limits, lease);
    if (!first.ok) throw new Error('expected the first to be granted');
    await untilRedisTime(clock(), first.acquiredAtMs + WINDOW / 2);
    const rest: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await l.acquire('m', limits, lease);
      if (!r.ok) throw new Error(`acquisition ${i + 2} of 5 was denied: ${JSON.stringify(r)}`);
      rest.push(r.acquiredAtMs);
    }

    const denied = await bracketed(clock(), () => l.acquire('m', limits, lease));
    expect(denied.value).toMatchObject({ ok: false, reason: 'rpm' });
    if (denied.value.ok) throw new Error('unreachable');
    expect((await l.windowState('m')).requests).toBe(5);
    // The wait is until the first acquisition leaves the window, by Redis's clock at the moment of the denial —
    // not until a later one leaves (they are all half a window younger).
    expect(denied.value.retryInMs).toBeGreaterThanOrEqual(first.acquiredAtMs + WINDOW - denied.after);
    expect(denied.value.retryInMs).toBeLessThanOrEqual(first.acquiredAtMs + WINDOW - denied.before);
    expect(Math.min(...rest)).toBeGreaterThanOrEqual(first.acquiredAtMs + WINDOW / 2);

    await untilRedisTime(clock(), first.acquiredAtMs + WINDOW);
    const again = await bracketed(clock(), () => l.acquire('m', limits, lease));
    expect(again.value.ok).toBe(true);
    // The other four are still in the window: the next one waits for the oldest of them.
    const oldest = Math.min(...rest);
    const full = await bracketed(clock(), () => l.acquire('m', limits, lease));
    expect(full.value).toMatchObject({ ok: false, reason: 'rpm' });
    if (full.value.ok) throw new Error('unreachable');
    expect(full.value.retryInMs).toBeGreaterThanOrEqual(oldest + WINDOW - full.after);
    expect(full.value.retryInMs).toBeLessThanOrEqual(oldest + WINDOW - full.before);
  });

  it('no window span, wherever it starts, holds more than rpm acquisitions (several clients hammering)', async () => {
    const ls = limiters({ windowMs: 400, marginMs: 0 });
    const limits = { rpm: 4, maxConcurrency: 1000 };
    // Until 16 acquisitions were granted (4 windows' worth), however long the machine takes for them.
    const times: number[] = [];
    await Promise.all(
      ls.flatMap((l) =>
        [0, 1].map(async () => {
          while (times.length < 16) {
            const r = await l.acquire('m', limits, lease);
            if (r.ok) times.push(r.acquiredAtMs);
            else await new Promise((resolve) => setTimeout(resolve, Math.min(r.retryInMs, 15)));
          }
        }),
      ),
    );
    times.sort((a, b) => a - b);
    expect(times.length).toBeGreaterThanOrEqual(16);
    // Acquisition times are Redis's clock, the one the window is kept by.
    for (const start of times) {
      expect(times.filter((t) => t >= start && t < start + 400).length).toBeLessThanOrEqual(4);
    }
  });

  it('keeps a margin beyond the window', async () => {
    const [l] = limiters({ windowMs: 1000, marginMs: 200 });
    if (!l) throw new Error('no limiter');
    const first = await l.acquire('m', { rpm: 1, maxConcurrency: 5 }, lease);
    if (!first.ok) throw new Error('expected the first to be granted');
    const denied = await bracketed(clock(), () => l.acquire('m', { rpm: 1, maxConcurrency: 5 }, lease));
    if (denied.value.ok) throw new Error('expected a denial');
    // The first counts for window + margin = 1,200 ms from its acquisition, by Redis's clock.
    expect(denied.value.retryInMs).toBeGreaterThanOrEqual(first.acquiredAtMs + 1200 - denied.after);
    expect(denied.value.retryInMs).toBeLessThanOrEqual(first.acquiredAtMs + 1200 - denied.before);
  });
});

describe('concurrency', () => {
  it('grants exactly maxConcurrency of 50 simultaneous acquires from 5 clients', async () => {
    const ls = limiters({ concurrencyPollMs: 80 });
    const limits = { rpm: 1000, maxConcurrency: 7 };
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => ls[i % ls.length]?.acquire('m', limits, lease)),
    );
    expect(results.filter((r) => r?.ok).length).toBe(7);
    for (const r of results) {
      if (r && !r.ok) {
        expect(r.reason).toBe('concurrency');
        expect(r.retryInMs).toBeGreaterThan(0);
        expect(r.retryInMs).toBeLessThanOrEqual(80);
      }
    }
    expect(await ls[0]?.inFlight('m')).toBe(7);
  });

  it('reclaims expired leases of dead workers; extend keeps a live one', async () => {
    const [l] = limiters();
    if (!l) throw new Error('no limiter');
    const limits = { rpm: 100, maxConcurrency: 2 };
    const a = await l.acquire('m', limits, { ...lease, leaseMs: 2000 });
    const b = await l.acquire('m', limits, { ...lease, leaseMs: 2000 });
    if (!a.ok || !b.ok) throw new Error('expected two leases');
    expect(await l.extend('m', b.leaseId, 60_000)).toBe(true);
    expect(await l.acquire('m', limits, lease)).toMatchObject({ ok: false, reason: 'concurrency' });

    // a's lease expires 2 s after it was taken, by Redis's clock.
    await untilRedisTime(clock(), a.acquiredAtMs + 2000);
    expect(await l.inFlight('m')).toBe(1);
    // a's worker "died": its slot is free, and its late heartbeat and release find nothing.
    expect(await l.extend('m', a.leaseId, 5000)).toBe(false);
    expect((await l.acquire('m', limits, lease)).ok).toBe(true);
    expect(await l.release('m', a.leaseId)).toEqual({ released: false, settled: false });

    const state = await l.windowState('m');
    expect(state.inFlight).toBe(2);
    expect(state.requests).toBe(3);
    expect(state.leases.map((x) => x.leaseId)).toContain(b.leaseId);
  });

  it('release frees the slot, keeps the rpm entry, and is idempotent', async () => {
    const [l] = limiters();
    if (!l) throw new Error('no limiter');
    const limits = { rpm: 2, maxConcurrency: 1 };
    const a = await l.acquire('m', limits, lease);
    if (!a.ok) throw new Error('expected a lease');
    expect(await l.release('m', a.leaseId)).toEqual({ released: true, settled: false });
    expect(await l.release('m', a.leaseId)).toEqual({ released: false, settled: false });
    expect((await l.acquire('m', limits, lease)).ok).toBe(true);
    const st = await l.windowState('m');
    expect(st).toMatchObject({ requests: 2, inFlight: 1 });
  });
});

describe('tpm', () => {
  it('reserves the estimate, settles to the actual tokens, and waits for tokens to leave', async () => {
    const WINDOW = 3000;
    const [l] = limiters({ windowMs: WINDOW, marginMs: 0 });
    if (!l) throw new Error('no limiter');
    const limits = { rpm: 100, maxConcurrency: 10, tpm: 1000 };
    const a = await l.acquire('m', limits, { ...lease, estimatedTokens: 600 });
    if (!a.ok) throw new Error('expected a lease');
    const denied = await bracketed(clock(), () => l.acquire('m', limits, { ...lease, estimatedTokens: 600 }));
    expect(denied.value).toMatchObject({ ok: false, reason: 'tpm' });
    if (denied.value.ok) throw new Error('unreachable');
    expect(denied.value.retryInMs).toBeGreaterThanOrEqual(a.acquiredAtMs + WINDOW - denied.after);
    expect(denied.value.retryInMs).toBeLessThanOrEqual(a.acquiredAtMs + WINDOW - denied.before);

    expect(await l.release('m', a.leaseId, { actualTokens: 100 })).toEqual({ released: true, settled: true });
    expect(await l.release('m', a.leaseId, { actualTokens: 100 })).toEqual({ released: false, settled: true });
    expect((await l.windowState('m')).tokens).toBe(100);
    expect((await l.acquire('m', limits, { ...lease, estimatedTokens: 600 })).ok).toBe(true);
    expect((await l.windowState('m')).tokens).toBe(700);

    const full = await bracketed(clock(), () => l.acquire('m', limits, { ...lease, estimatedTokens: 400 }));
    expect(full.value).toMatchObject({ ok: false, reason: 'tpm' });
    if (full.value.ok) throw new Error('unreachable');
    // 100 (settled a) leaving is enough for 400 to fit: the wait is until a leaves, not the later entry.
    expect(full.value.retryInMs).toBeGreaterThanOrEqual(a.acquiredAtMs + WINDOW - full.after);
    expect(full.value.retryInMs).toBeLessThanOrEqual(a.acquiredAtMs + WINDOW - full.before);
    await untilRedisTime(clock(), a.acquiredAtMs + WINDOW);
    expect((await l.acquire('m', limits, { ...lease, estimatedTokens: 400 })).ok).toBe(true);
  });

  it('lets a request larger than tpm through only when the window holds no tokens', async () => {
    const WINDOW = 2000;
    const [l] = limiters({ windowMs: WINDOW, marginMs: 0 });
    if (!l) throw new Error('no limiter');
    const limits = { rpm: 100, maxConcurrency: 10, tpm: 1000 };
    const big = await l.acquire('m', limits, { ...lease, estimatedTokens: 5000 });
    if (!big.ok) throw new Error('expected the oversized request to pass an empty window');
    expect(await l.acquire('m', limits, { ...lease, estimatedTokens: 1 })).toMatchObject({ ok: false, reason: 'tpm' });
    await untilRedisTime(clock(), big.acquiredAtMs + WINDOW);
    const small = await l.acquire('m', limits, { ...lease, estimatedTokens: 1 });
    expect(small.ok).toBe(true);
    // One token in the window is enough to keep the oversized request out.
    expect(await l.acquire('m', limits, { ...lease, estimatedTokens: 5000 })).toMatchObject({
      ok: false,
      reason: 'tpm',
    });
  });

  it('records nothing when denied, and reports the longest of several waits', async () => {
    const WINDOW = 3000;
    const [l] = limiters({ windowMs: WINDOW, marginMs: 0, concurrencyPollMs: 50 });
    if (!l) throw new Error('no limiter');
    const limits = { rpm: 1, maxConcurrency: 1, tpm: 10 };
    const first = await l.acquire('m', limits, { ...lease, estimatedTokens: 10 });
    if (!first.ok) throw new Error('expected a lease');
    const denied = await bracketed(clock(), () => l.acquire('m', limits, { ...lease, estimatedTokens: 10 }));
    if (denied.value.ok) throw new Error('expected a denial');
    // All three are full; the wait reported is the longest, rpm's and tpm's (the window), not concurrency's 50 ms poll.
    expect(['rpm', 'tpm']).toContain(denied.value.reason);
    expect(denied.value.retryInMs).toBeGreaterThanOrEqual(first.acquiredAtMs + WINDOW - denied.after);
    expect(denied.value.retryInMs).toBeLessThanOrEqual(first.acquiredAtMs + WINDOW - denied.before);
    expect(await l.windowState('m')).toMatchObject({ requests: 1, tokens: 10, inFlight: 1 });
  });
});

describe('keys', () => {
  it('keeps every key of a model under one hash tag', () => {
    const [l] = limiters();
    const keys = Object.values(l?.keys('gpt-5') ?? {});
    expect(keys.length).toBe(4);
    for (const k of keys) expect(k).toMatch(/\{gpt-5\}/);
    expect(() => l?.keys('a{b}')).toThrow(/hash tag/);
  });
});
