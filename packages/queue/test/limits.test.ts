import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useRedisClients } from '../../../test/support/redis-clients.ts';
import { ModelLimiter, type ModelLimiterOptions } from '../src/limits/index.ts';

const FILE_PREFIX = `test:limits:${randomUUID()}`;
const clients = useRedisClients(5, FILE_PREFIX);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One limiter per client, on a prefix of this test only. */
function limiters(options: ModelLimiterOptions = {}): ModelLimiter[] {
  const prefix = `${FILE_PREFIX}:${randomUUID()}`;
  return clients.map((c) => new ModelLimiter(c, { prefix, ...options }));
}

const lease = { estimatedTokens: 0, leaseMs: 10_000, holder: 'test' };

describe('rpm sliding window', () => {
  it('denies the 6th of rpm 5 until the first leaves the window, then allows one', async () => {
    const [l] = limiters({ windowMs: 1000, marginMs: 0 });
    if (!l) throw new Error('no limiter');
    const limits = { rpm: 5, maxConcurrency: 100 };
    const first = await l.acquire('m', limits, lease);
    expect(first.ok).toBe(true);
    await sleep(300);
    for (let i = 0; i < 4; i++) expect((await l.acquire('m', limits, lease)).ok).toBe(true);

    const denied = await l.acquire('m', limits, lease);
    expect(denied).toMatchObject({ ok: false, reason: 'rpm' });
    if (denied.ok || !first.ok) throw new Error('unreachable');
    const state = await l.windowState('m');
    expect(state.requests).toBe(5);
    // The wait is until the first acquisition leaves the window, by Redis's clock (state was read just after).
    const untilFirstLeaves = first.acquiredAtMs + 1000 - state.nowMs;
    expect(denied.retryInMs).toBeGreaterThanOrEqual(untilFirstLeaves);
    expect(denied.retryInMs).toBeLessThanOrEqual(untilFirstLeaves + 20);
    expect(denied.retryInMs).toBeGreaterThan(500);
    expect(denied.retryInMs).toBeLessThanOrEqual(700);

    await sleep(denied.retryInMs + 5);
    expect((await l.acquire('m', limits, lease)).ok).toBe(true);
    // The other four are still in the window.
    const again = await l.acquire('m', limits, lease);
    expect(again).toMatchObject({ ok: false, reason: 'rpm' });
  });

  it('no window span, wherever it starts, holds more than rpm acquisitions (several clients hammering)', async () => {
    const ls = limiters({ windowMs: 400, marginMs: 0 });
    const limits = { rpm: 4, maxConcurrency: 1000 };
    const times: number[] = [];
    const until = Date.now() + 2000;
    await Promise.all(
      ls.flatMap((l) =>
        [0, 1].map(async () => {
          while (Date.now() < until) {
            const r = await l.acquire('m', limits, lease);
            if (r.ok) times.push(r.acquiredAtMs);
            else await sleep(Math.min(r.retryInMs, 15));
          }
        }),
      ),
    );
    times.sort((a, b) => a - b);
    expect(times.length).toBeGreaterThanOrEqual(16);
    for (const start of times) {
      expect(times.filter((t) => t >= start && t < start + 400).length).toBeLessThanOrEqual(4);
    }
  });

  it('keeps a margin beyond the window', async () => {
    const [l] = limiters({ windowMs: 1000, marginMs: 200 });
    if (!l) throw new Error('no limiter');
    expect((await l.acquire('m', { rpm: 1, maxConcurrency: 5 }, lease)).ok).toBe(true);
    const denied = await l.acquire('m', { rpm: 1, maxConcurrency: 5 }, lease);
    expect(denied.ok).toBe(false);
    if (!denied.ok) expect(denied.retryInMs).toBeGreaterThan(1100);
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
    const a = await l.acquire('m', limits, { ...lease, leaseMs: 200 });
    const b = await l.acquire('m', limits, { ...lease, leaseMs: 200 });
    if (!a.ok || !b.ok) throw new Error('expected two leases');
    expect(await l.extend('m', b.leaseId, 5000)).toBe(true);
    expect(await l.acquire('m', limits, lease)).toMatchObject({ ok: false, reason: 'concurrency' });

    await sleep(250);
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
    const [l] = limiters({ windowMs: 1000, marginMs: 0 });
    if (!l) throw new Error('no limiter');
    const limits = { rpm: 100, maxConcurrency: 10, tpm: 1000 };
    const a = await l.acquire('m', limits, { ...lease, estimatedTokens: 600 });
    if (!a.ok) throw new Error('expected a lease');
    const denied = await l.acquire('m', limits, { ...lease, estimatedTokens: 600 });
    expect(denied).toMatchObject({ ok: false, reason: 'tpm' });
    if (!denied.ok) expect(denied.retryInMs).toBeGreaterThan(900);

    expect(await l.release('m', a.leaseId, { actualTokens: 100 })).toEqual({ released: true, settled: true });
    expect(await l.release('m', a.leaseId, { actualTokens: 100 })).toEqual({ released: false, settled: true });
    expect((await l.windowState('m')).tokens).toBe(100);
    expect((await l.acquire('m', limits, { ...lease, estimatedTokens: 600 })).ok).toBe(true);
    expect((await l.windowState('m')).tokens).toBe(700);

    const full = await l.acquire('m', limits, { ...lease, estimatedTokens: 400 });
    expect(full).toMatchObject({ ok: false, reason: 'tpm' });
    // 100 (settled a) leaving is enough for 400 to fit: the wait is until a leaves, not the later entry.
    await sleep(full.ok ? 0 : full.retryInMs + 5);
    expect((await l.acquire('m', limits, { ...lease, estimatedTokens: 400 })).ok).toBe(true);
  });

  it('lets a request larger than tpm through only when the window holds no tokens', async () => {
    const [l] = limiters({ windowMs: 500, marginMs: 0 });
    if (!l) throw new Error('no limiter');
    const limits = { rpm: 100, maxConcurrency: 10, tpm: 1000 };
    expect((await l.acquire('m', limits, { ...lease, estimatedTokens: 5000 })).ok).toBe(true);
    const denied = await l.acquire('m', limits, { ...lease, estimatedTokens: 1 });
    expect(denied).toMatchObject({ ok: false, reason: 'tpm' });
    await sleep(denied.ok ? 0 : denied.retryInMs + 5);
    expect((await l.acquire('m', limits, { ...lease, estimatedTokens: 1 })).ok).toBe(true);
    expect((await l.acquire('m', limits, { ...lease, estimatedTokens: 5000 })).ok).toBe(false);
  });

  it('records nothing when denied, and reports the longest of several waits', async () => {
    const [l] = limiters({ windowMs: 1000, marginMs: 0, concurrencyPollMs: 50 });
    if (!l) throw new Error('no limiter');
    const limits = { rpm: 1, maxConcurrency: 1, tpm: 10 };
    expect((await l.acquire('m', limits, { ...lease, estimatedTokens: 10 })).ok).toBe(true);
    const denied = await l.acquire('m', limits, { ...lease, estimatedTokens: 10 });
    expect(denied.ok).toBe(false);
    if (!denied.ok) {
      expect(['rpm', 'tpm']).toContain(denied.reason);
      expect(denied.retryInMs).toBeGreaterThan(900);
    }
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
