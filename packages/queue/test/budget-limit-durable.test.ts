import { randomUUID } from 'node:crypto';
import { createDatabase, type DatabaseHandle, runMigrations } from '@orchex/db';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type FreshDatabase, freshDatabase } from '../../../test/support/fresh-database.ts';
import { useRedisClients } from '../../../test/support/redis-clients.ts';
import { testConfig } from '../../../test/support/test-config.ts';
import { budgetFromConfig, budgetLimitKey } from '../src/budget/index.ts';

const PREFIX = `test:budget-limit:${randomUUID()}`;
const clients = useRedisClients(1, PREFIX);
const day = '2031-02-01';
let fresh: FreshDatabase;
let database: DatabaseHandle;
beforeAll(async () => {
  fresh = await freshDatabase(inject('databaseUrl'), 'budget_limit_durable');
  database = await createDatabase({ url: fresh.url, poolSize: 2 });
  await runMigrations(database);
});
afterAll(async () => {
  await database?.close();
  await fresh?.drop();
});

describe('the runtime budget limit survives a Redis that lost its data', () => {
  it('PUT-style setLimit is kept in Postgres: after the Redis key is gone, reservations still see it', async () => {
    const config = testConfig({ cost_limits: { max_daily_cost: 100 } });
    const prefix = `${PREFIX}:${randomUUID()}`;
    const ledger = budgetFromConfig(clients[0]!, config, database.db, prefix);
    await ledger.setLimit(2_000_000); // $2, below the config's $100
    await clients[0]!.del(budgetLimitKey(prefix)); // Redis restarted without persistence, or flushed
    expect(await ledger.getLimit()).toBe(2_000_000);
    // It fails closed: a $3 call does not fit a $2 limit, although the config would allow $100.
    const hold = await ledger.reserve({ reservationId: 'r1', amountMicros: 3_000_000, ttlMs: 60_000, day });
    expect(hold).toMatchObject({ ok: false, limitMicros: 2_000_000 });

    // "No limit" is remembered too, and so is going back to the config's default.
    await ledger.setLimit(null);
    await clients[0]!.del(budgetLimitKey(prefix));
    expect(await ledger.getLimit()).toBeNull();
    await ledger.clearLimit();
    await clients[0]!.del(budgetLimitKey(prefix));
    expect(await ledger.getLimit()).toBe(100_000_000);
  });

  it('another process (a fresh ledger) reads the limit another one set', async () => {
    const config = testConfig({ cost_limits: { max_daily_cost: 100 } });
    const prefix = `${PREFIX}:${randomUUID()}`;
    await budgetFromConfig(clients[0]!, config, database.db, prefix).setLimit(5_000_000);
    await clients[0]!.del(budgetLimitKey(prefix));
    expect(await budgetFromConfig(clients[0]!, config, database.db, prefix).getLimit()).toBe(5_000_000);
  });
});
