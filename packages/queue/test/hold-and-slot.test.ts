import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useRedisClients } from '../../../test/support/redis-clients.ts';
import { testConfig } from '../../../test/support/test-config.ts';
import { openPostgres, useMigratedDatabase } from '../../db/test/open-test-databases.ts';
import { budgetKeys, keyBudgetsFromConfig } from '../src/budget/index.ts';
import { ModelLimiter } from '../src/limits/index.ts';

// On one Redis a step's budget hold and its model slot are taken in ONE script, and given back (settled) in one:
// what the pair of separate calls guaranteed by its order — a refused hold takes no slot, a refused slot keeps no
// hold — must hold inside the script.
const PREFIX = `test:hold-and-slot:${randomUUID()}`;
const clients = useRedisClients(1, PREFIX);
const database = useMigratedDatabase(() => openPostgres('hold_and_slot'));

const hold = (id: string, amountMicros: number) => ({ reservationId: id, amountMicros, ttlMs: 60_000 });
const LIMITS = { rpm: 2, maxConcurrency: 5, tpm: 10_000 };
const slotOptions = (estimatedTokens = 100) => ({ estimatedTokens, leaseMs: 30_000, holder: 'test' });

function stack(globalUsd: number) {
  const prefix = `${PREFIX}:${randomUUID()}`;
  const config = testConfig({ cost_limits: { max_daily_cost: globalUsd } });
  const budgets = keyBudgetsFromConfig(clients[0]!, config, database.db, prefix);
  const limiter = new ModelLimiter(clients[0]!, { prefix });
  /** Spent and reserved of one ledger (the key's when keyId is given), straight from Redis. */
  const counters = async (day: string, keyId?: string) => {
    const k = budgetKeys(keyId ? `${prefix}:key:${keyId}` : prefix, day);
    const [spent, reserved] = await clients[0]!.mget(k.spent, k.reserved);
    return { spent: Number(spent ?? 0), reserved: Number(reserved ?? 0) };
  };
  const take = async (id: string, amountMicros: number, tokens = 100) => {
    const part = limiter.acquirePart('m', LIMITS, slotOptions(tokens));
    const taken = await budgets.reserveWithSlot('k', hold(id, amountMicros), part);
    return { ...taken, lease: taken.hold.ok ? limiter.acquired(part.leaseId, taken.slot) : undefined };
  };
  return { budgets, limiter, counters, take, prefix };
}

describe('budget hold and model slot in one script', () => {
  it('both fit: the hold is in both ledgers and the slot is taken', async () => {
    const { limiter, counters, take } = stack(10);
    const { hold: held, lease } = await take('r1', 2_000_000);
    expect(held.ok).toBe(true);
    expect(lease).toMatchObject({ ok: true });
    expect(await counters(held.day, 'k')).toEqual({ spent: 0, reserved: 2_000_000 });
    expect(await counters(held.day)).toEqual({ spent: 0, reserved: 2_000_000 });
    expect(await limiter.windowState('m')).toMatchObject({ requests: 1, tokens: 100, inFlight: 1 });
  });

  it('a refused hold asks for no slot: the rpm window is untouched', async () => {
    const { limiter, counters, take } = stack(1);
    const { hold: refused, slot } = await take('r1', 5_000_000);
    expect(refused).toMatchObject({ ok: false, scope: 'global' });
    expect(slot[0]).toBe(-1);
    expect(await counters(refused.day)).toEqual({ spent: 0, reserved: 0 });
    expect(await limiter.windowState('m')).toMatchObject({ requests: 0, inFlight: 0 });
  });

  it('a refused slot keeps no hold in either ledger, and says how long to wait', async () => {
    const { limiter, counters, take } = stack(10);
    const day = (await take('r1', 1_000)).hold.day;
    await take('r2', 1_000); // rpm 2: the window is full now
    const { hold: held, lease } = await take('r3', 3_000_000);
    expect(held.ok).toBe(true);
    expect(lease).toMatchObject({ ok: false, reason: 'rpm' });
    expect(lease?.ok === false && lease.retryInMs).toBeGreaterThan(1000);
    expect(await counters(day, 'k')).toEqual({ spent: 0, reserved: 2_000 });
    expect(await counters(day)).toEqual({ spent: 0, reserved: 2_000 });
    expect(await limiter.windowState('m')).toMatchObject({ requests: 2, inFlight: 2 });
  });

  it('settling with the slot frees the lease with the real tokens and spends once in both ledgers', async () => {
    const { budgets, limiter, counters, take } = stack(10);
    const { hold: held, lease } = await take('r1', 2_000_000, 900);
    if (!held.ok || !lease?.ok) throw new Error('expected a hold and a slot');
    const slot = () => limiter.releasePart('m', lease.leaseId, { actualTokens: 250 });
    const settled = await budgets.settleWithSlot('k', 'r1', 1_250_000, held.day, slot());
    expect(settled).toMatchObject({ applied: true, spentMicros: 1_250_000, reservedMicros: 0 });
    expect(await limiter.windowState('m')).toMatchObject({ requests: 1, tokens: 250, inFlight: 0 });
    // A re-delivered settle changes nothing: neither the money nor the window's tokens.
    expect(await budgets.settleWithSlot('k', 'r1', 1_250_000, held.day, slot())).toMatchObject({ applied: false });
    expect(await counters(held.day, 'k')).toEqual({ spent: 1_250_000, reserved: 0 });
    expect(await limiter.windowState('m')).toMatchObject({ tokens: 250, inFlight: 0 });
  });

  it('a settle whose counter was lost rebuilds it; the slot, given back on every try, is freed once', async () => {
    const { budgets, limiter, counters, take, prefix } = stack(100);
    const { hold: held, lease } = await take('r1', 2_000_000, 900);
    if (!held.ok || !lease?.ok) throw new Error('expected a hold and a slot');
    // Redis loses the key's spent counter: the first try answers -1, the counter is rebuilt, the script runs again.
    await clients[0]!.del(budgetKeys(`${prefix}:key:k`, held.day).spent);
    const settled = await budgets.settleWithSlot(
      'k',
      'r1',
      700_000,
      held.day,
      limiter.releasePart('m', lease.leaseId, { actualTokens: 300 }),
    );
    expect(settled).toMatchObject({ applied: true, spentMicros: 700_000 });
    expect(await counters(held.day, 'k')).toEqual({ spent: 700_000, reserved: 0 });
    expect(await limiter.windowState('m')).toMatchObject({ requests: 1, tokens: 300, inFlight: 0 });
  });
});
