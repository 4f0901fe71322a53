import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useRedisClients } from '../../../test/support/redis-clients.ts';
import { bracketed, untilRedisTime } from '../../../test/support/redis-clock.ts';
import { BudgetLedger, type BudgetLedgerOptions } from '../src/budget/index.ts';

const FILE_PREFIX = `test:budget:${randomUUID()}`;
// A fixed day keeps tests away from real midnights; expiry still runs on Redis's clock.
const day = '2031-01-01';
const clients = useRedisClients(4, FILE_PREFIX);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Any one client: they share one server, hence the clock the ledger's expiries are kept by. */
const clock = () => {
  const c = clients[0];
  if (!c) throw new Error('no client');
  return c;
};

/** One ledger per client, on a prefix of this test only. */
function ledgers(options: BudgetLedgerOptions = {}): [BudgetLedger, ...BudgetLedger[]] {
  const prefix = `${FILE_PREFIX}:${randomUUID()}`;
  const [first, ...rest] = clients.map((c) => new BudgetLedger(c, { prefix, ...options }));
  if (!first) throw new Error('no client');
  return [first, ...rest];
}

const ttlMs = 60_000;

describe('reserve', () => {
  it('admits exactly 50 of 200 concurrent reservations from 4 clients when the limit fits 50', async () => {
    const ls = ledgers();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        ls[i % ls.length]?.reserve({ reservationId: `r${i}`, amountMicros: 1234, limitMicros: 50 * 1234, ttlMs, day }),
      ),
    );
    expect(results.filter((r) => r?.ok).length).toBe(50);
    for (const r of results) if (r && !r.ok) expect(r.limitMicros).toBe(50 * 1234);
    expect(await ls[0].state({ day })).toMatchObject({ spentMicros: 0, reservedMicros: 50 * 1234 });
  });

  it('settling below the reservation frees room', async () => {
    const [l] = ledgers();
    const r = (id: string, amountMicros: number) =>
      l.reserve({ reservationId: id, amountMicros, limitMicros: 3000, ttlMs, day });
    for (const id of ['a', 'b', 'c']) expect((await r(id, 1000)).ok).toBe(true);
    expect(await r('d', 600)).toMatchObject({ ok: false, spentMicros: 0, reservedMicros: 3000, limitMicros: 3000 });
    expect(await l.settle('a', 400, { day })).toMatchObject({ applied: true, spentMicros: 400, reservedMicros: 2000 });
    expect(await r('d', 600)).toMatchObject({ ok: true, spentMicros: 400, reservedMicros: 2600 });
    expect((await r('e', 1)).ok).toBe(false);
    expect(await l.release('b', { day })).toBe(true);
    expect(await l.release('b', { day })).toBe(false);
    expect(await l.state({ day })).toMatchObject({ spentMicros: 400, reservedMicros: 1600 });
  });

  // Expiries are seconds long and waited for on Redis's clock, so a loaded machine cannot let one lapse early.
  it('reclaims reservations whose holder died (ttl expired)', async () => {
    const [l, other] = ledgers();
    const TTL = 2000;
    const dead = await bracketed(clock(), () =>
      l.reserve({ reservationId: 'dead', amountMicros: 900, limitMicros: 1000, ttlMs: TTL, day }),
    );
    expect(dead.value.ok).toBe(true);
    const denied = await other?.reserve({ reservationId: 'x', amountMicros: 200, limitMicros: 1000, ttlMs, day });
    expect(denied?.ok).toBe(false);
    // It was made by `dead.after` at the latest, so it has expired once Redis's clock passes that + TTL.
    await untilRedisTime(clock(), dead.after + TTL);
    expect((await l.state({ day })).reservedMicros).toBe(0);
    expect((await other?.reserve({ reservationId: 'x', amountMicros: 200, limitMicros: 1000, ttlMs, day }))?.ok).toBe(
      true,
    );
    // The dead worker's late settle still counts: the money was spent.
    expect(await l.settle('dead', 700, { day })).toMatchObject({
      applied: true,
      spentMicros: 700,
      reservedMicros: 200,
    });
  });

  it('is idempotent per reservation id, and re-reserving refreshes the ttl', async () => {
    const [l] = ledgers();
    const TTL = 3000;
    const input = { reservationId: 'job1', amountMicros: 500, limitMicros: 10_000, ttlMs: TTL, day };
    const first = await bracketed(clock(), () => l.reserve(input));
    expect(first.value).toMatchObject({ ok: true, reservedMicros: 500 });
    await untilRedisTime(clock(), first.after + TTL / 2);
    const refresh = await bracketed(clock(), () => l.reserve(input));
    expect(refresh.value).toMatchObject({ ok: true, reservedMicros: 500 });
    // The ledger's record of the expiry moved to one TTL after the refresh.
    const expiresAt = Number(await clock().zscore(l.keys(day).expiry, 'job1'));
    expect(expiresAt).toBeGreaterThanOrEqual(refresh.before + TTL);
    expect(expiresAt).toBeLessThanOrEqual(refresh.after + TTL);
    // Past the first TTL (by Redis's clock), within the refreshed one: still held.
    await untilRedisTime(clock(), first.after + TTL);
    expect((await l.state({ day })).reservedMicros).toBe(500);

    expect(await l.settle('job1', 300, { day })).toMatchObject({ applied: true, spentMicros: 300, reservedMicros: 0 });
    expect(await l.settle('job1', 300, { day })).toMatchObject({ applied: false, spentMicros: 300 });
    // A re-delivered job reserving a settled id neither reserves nor spends again.
    expect(await l.reserve(input)).toMatchObject({ ok: true, spentMicros: 300, reservedMicros: 0 });
    expect(await l.state({ day })).toMatchObject({ spentMicros: 300, reservedMicros: 0 });
  });

  it('remembers a settled id for an hour past its hold, then forgets it: the set holds the last hour, not the day', async () => {
    const [l] = ledgers();
    const keys = l.keys(day);
    expect((await l.reserve({ reservationId: 'j', amountMicros: 500, limitMicros: 10_000, ttlMs, day })).ok).toBe(true);
    const heldUntil = Number(await clock().zscore(keys.expiry, 'j'));
    const settled = await bracketed(clock(), () => l.settle('j', 300, { day }));
    expect(settled.value.applied).toBe(true);
    expect(Number(await clock().zscore(keys.settled, 'j'))).toBe(heldUntil + 3_600_000);
    // Settled without a live hold (it expired, or was never taken here): remembered an hour from the settle.
    const late = await bracketed(clock(), () => l.settle('late', 100, { day }));
    const lateUntil = Number(await clock().zscore(keys.settled, 'late'));
    expect(lateUntil).toBeGreaterThanOrEqual(late.before + 3_600_000);
    expect(lateUntil).toBeLessThanOrEqual(late.after + 3_600_000);
    // An id whose time has passed (planted as if settled long ago) is forgotten by the next settle, and counts again.
    await clock().zadd(keys.settled, settled.before - 1, 'old');
    expect((await l.settle('other', 1, { day })).applied).toBe(true);
    expect(await clock().zscore(keys.settled, 'old')).toBeNull();
    expect(await l.settle('old', 7, { day })).toMatchObject({ applied: true, spentMicros: 408 });
    expect(await clock().zcard(keys.settled)).toBe(4); // j, late, other, old
  });

  it('admits anything when there is no limit', async () => {
    const [l] = ledgers();
    const r = await l.reserve({ reservationId: 'big', amountMicros: 10 ** 12, limitMicros: null, ttlMs, day });
    expect(r).toMatchObject({ ok: true, reservedMicros: 10 ** 12 });
  });
});

describe('alert', () => {
  it('reports the crossing once per day, even under concurrent settles', async () => {
    const ls = ledgers({ alertMicros: 1000 });
    expect((await ls[0].settle('s0', 600, { day })).alertCrossed).toBe(false);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => ls[i % ls.length]?.settle(`s${i + 1}`, 100, { day })),
    );
    expect(results.filter((r) => r?.alertCrossed).length).toBe(1);
    expect(results.find((r) => r?.alertCrossed)?.spentMicros).toBe(1000);
    expect(
      (await ls[0].reserve({ reservationId: 'r', amountMicros: 1, ttlMs, day, limitMicros: null })).alertCrossed,
    ).toBe(false);
    // Another day has its own alert.
    expect((await ls[0].settle('s0', 5000, { day: '2031-01-02' })).alertCrossed).toBe(true);
  });
});

describe('limit', () => {
  it('is shared through Redis, falls back to the config default, and null means none', async () => {
    const [a, b] = ledgers({ defaultLimitMicros: 5_000_000 });
    expect(await b?.getLimit()).toBe(5_000_000);
    await a.setLimit(2_000_000);
    expect(await b?.getLimit()).toBe(2_000_000);
    expect(await b?.reserve({ reservationId: 'x', amountMicros: 2_000_001, ttlMs, day })).toMatchObject({
      ok: false,
      limitMicros: 2_000_000,
    });
    await a.setLimit(null);
    expect(await b?.getLimit()).toBeNull();
    expect((await b?.reserve({ reservationId: 'x', amountMicros: 2_000_001, ttlMs, day }))?.ok).toBe(true);
    expect(await b?.state({ day })).toMatchObject({ limitMicros: null, remainingMicros: null });
    await a.clearLimit();
    expect(await b?.state({ day })).toMatchObject({ limitMicros: 5_000_000, remainingMicros: 5_000_000 - 2_000_001 });
  });
});

describe('rebuild from Postgres', () => {
  it('ensureLoaded sets a missing counter and never overwrites an existing one', async () => {
    const [l] = ledgers();
    expect(await l.ensureLoaded(day, async () => 7000)).toBe(true);
    expect((await l.state({ day })).spentMicros).toBe(7000);
    expect(await l.ensureLoaded(day, async () => 1)).toBe(false);
    await l.settle('s', 500, { day });
    expect(await l.ensureLoaded(day, async () => 1)).toBe(false);
    expect((await l.state({ day })).spentMicros).toBe(7500);
  });

  it('with a loader, a missing counter is rebuilt (once) before any reservation counts on it', async () => {
    let loads = 0;
    const ls = ledgers({
      loadSpent: async (d) => {
        loads++;
        expect(d).toBe(day);
        await sleep(20);
        return 9000;
      },
    });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        ls[i % ls.length]?.reserve({ reservationId: `r${i}`, amountMicros: 100, limitMicros: 10_000, ttlMs, day }),
      ),
    );
    expect(results.filter((r) => r?.ok).length).toBe(10);
    expect(loads).toBeLessThanOrEqual(ls.length); // one load per process at most
    expect(await ls[0].state({ day })).toMatchObject({ spentMicros: 9000, reservedMicros: 1000 });
  });

  it('a settle during a lost counter does not shadow the rebuild', async () => {
    const [l] = ledgers({ loadSpent: async () => 4000 });
    expect(await l.settle('s', 250, { day })).toMatchObject({ applied: true, spentMicros: 4250 });
  });
});

describe('day', () => {
  it('defaults to the UTC day of Redis TIME', async () => {
    const [l] = ledgers();
    const redis = clients[0];
    if (!redis) throw new Error('no client');
    const [seconds] = await redis.time();
    const expected = new Date(Number(seconds) * 1000).toISOString().slice(0, 10);
    const r = await l.reserve({ reservationId: 'x', amountMicros: 1, limitMicros: 10, ttlMs });
    expect([expected, await l.today()]).toContain(r.day);
    expect(() => l.keys('2031-1-1')).toThrow(/YYYY-MM-DD/);
    for (const k of Object.values(l.keys(day))) expect(k).toContain(`{${day}}`);
  });
});
