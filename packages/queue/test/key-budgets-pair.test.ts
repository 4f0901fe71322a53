import { randomUUID } from 'node:crypto';
import { costRollups, spentOnDay } from '@orchex/db';
import { describe, expect, it } from 'vitest';
import { useRedisClients } from '../../../test/support/redis-clients.ts';
import { testConfig } from '../../../test/support/test-config.ts';
import { openPostgres, useMigratedDatabase } from '../../db/test/open-test-databases.ts';
import { budgetKeys, budgetLimitKey, type KeyBudgets, keyBudgetsFromConfig } from '../src/budget/index.ts';

// A key's ledger and the global one are held, settled and given back in one script each (KeyBudgets): these are the
// paths a single script must get right that two side-by-side scripts got right by construction.
const PREFIX = `test:key-budgets-pair:${randomUUID()}`;
const clients = useRedisClients(1, PREFIX);
const database = useMigratedDatabase(() => openPostgres('key_budgets_pair'));

const hold = (id: string, amountMicros: number) => ({ reservationId: id, amountMicros, ttlMs: 60_000 });
/** Spent and reserved of one ledger (the key's when keyId is given) on `day`, straight from Redis. */
async function counters(prefix: string, day: string, keyId?: string) {
  const k = budgetKeys(keyId ? `${prefix}:key:${keyId}` : prefix, day);
  const [spent, reserved] = await clients[0]!.mget(k.spent, k.reserved);
  return { spent: Number(spent ?? 0), reserved: Number(reserved ?? 0) };
}

function budgets(globalUsd: number): { budgets: KeyBudgets; prefix: string } {
  const prefix = `${PREFIX}:${randomUUID()}`;
  const config = testConfig({ cost_limits: { max_daily_cost: globalUsd } });
  return { budgets: keyBudgetsFromConfig(clients[0]!, config, database.db, prefix), prefix };
}

describe('KeyBudgets: both ledgers in one script', () => {
  it('a refusal by the global budget leaves no hold in the key budget, and says which refused', async () => {
    const { budgets: b, prefix } = budgets(1); // $1 global
    await b.setLimits('k1', { own: 5_000_000 }); // $5 for the key
    const refused = await b.reserve('k1', hold('r1', 2_000_000));
    expect(refused).toMatchObject({ ok: false, scope: 'global', limitMicros: 1_000_000 });
    expect(await counters(prefix, refused.day, 'k1')).toEqual({ spent: 0, reserved: 0 });

    const byKey = await b.reserve('k1', hold('r2', 6_000_000));
    expect(byKey).toMatchObject({ ok: false, scope: 'key', limitMicros: 5_000_000 });
    expect(await counters(prefix, byKey.day)).toEqual({ spent: 0, reserved: 0 });
  });

  it('holds, settles once and gives back in both ledgers', async () => {
    const { budgets: b, prefix } = budgets(10);
    const held = await b.reserve('k1', hold('r1', 3_000_000));
    expect(held.ok).toBe(true);
    expect(await counters(prefix, held.day, 'k1')).toEqual({ spent: 0, reserved: 3_000_000 });
    expect(await counters(prefix, held.day)).toEqual({ spent: 0, reserved: 3_000_000 });

    const settled = await b.settle('k1', 'r1', 1_250_000, held.day);
    expect(settled).toMatchObject({ applied: true, spentMicros: 1_250_000, reservedMicros: 0 });
    expect(await b.settle('k1', 'r1', 1_250_000, held.day)).toMatchObject({ applied: false }); // a re-delivery
    expect(await counters(prefix, held.day, 'k1')).toEqual({ spent: 1_250_000, reserved: 0 });

    await b.reserve('k1', hold('r2', 2_000_000));
    await b.release('k1', 'r2', held.day);
    expect(await counters(prefix, held.day, 'k1')).toEqual({ spent: 1_250_000, reserved: 0 });
    expect(await counters(prefix, held.day)).toEqual({ spent: 1_250_000, reserved: 0 });
  });

  it("a key's counter and limit lost from Redis are rebuilt from Postgres before the hold is decided", async () => {
    const { budgets: b, prefix } = budgets(100);
    await b.setLimits('k2', { own: 1_500_000 }); // $1.50
    const first = await b.reserve('k2', hold('r0', 1));
    await b.release('k2', 'r0', first.day);
    // $1 already spent today by this key, as Postgres's rollup has it; Redis then loses the key's counter and limit.
    await database.db.insert(costRollups).values({
      day: first.day,
      apiKeyId: 'k2',
      model: 'm',
      provider: 'p',
      requests: 1,
      costMicros: 1_000_000,
    });
    await clients[0]!.del(budgetKeys(`${prefix}:key:k2`, first.day).spent, budgetLimitKey(`${prefix}:key:k2`));
    // Counting on from 0 (or without the $1.50 limit) would admit it: $1 + $0.60 > $1.50.
    expect(await b.reserve('k2', hold('r1', 600_000))).toMatchObject({
      ok: false,
      scope: 'key',
      spentMicros: 1_000_000,
    });
    expect(await b.reserve('k2', hold('r2', 400_000))).toMatchObject({ ok: true });
  });

  it('a settle whose global counter was lost rebuilds it and still counts the key ledger once', async () => {
    const { budgets: b, prefix } = budgets(100);
    const held = await b.reserve('k3', hold('r1', 2_000_000));
    await clients[0]!.del(budgetKeys(prefix, held.day).spent);
    const inPostgres = await spentOnDay(database.db, held.day); // every key's spend today, as the rollup has it
    expect(await b.settle('k3', 'r1', 700_000, held.day)).toMatchObject({
      applied: true,
      spentMicros: inPostgres + 700_000,
    });
    expect(await counters(prefix, held.day, 'k3')).toEqual({ spent: 700_000, reserved: 0 });
  });
});
