import { safeErrorText, unavailableDependency } from '@orchex/core';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { freshDatabase } from '../../../test/support/fresh-database.ts';
import { createDatabase, type DatabaseHandle } from '../src/create-database.ts';
import { runMigrations } from '../src/migrate.ts';

/** A port nothing listens on (free a moment ago). */
const closedPort = freePort;

describe('infrastructure errors, as the real drivers raise them', () => {
  let fresh: Awaited<ReturnType<typeof freshDatabase>>;
  let database: DatabaseHandle;
  beforeAll(async () => {
    fresh = await freshDatabase(inject('databaseUrl'), 'infra_error');
    database = await createDatabase({ url: fresh.url, poolSize: 2 });
    await runMigrations(database);
  });
  afterAll(async () => {
    await database?.close();
    await fresh?.drop();
  });

  it('Postgres refusing connections (through drizzle) is "postgres unavailable", with no SQL in the text', async () => {
    const down = await createDatabase({ url: `postgres://postgres@127.0.0.1:${await closedPort()}/x` });
    const err = await down.db.execute(sql`select ${'secret-param-1'}::text`).catch((e: unknown) => e);
    await down.close();
    expect(unavailableDependency(err)).toBe('postgres');
    expect(safeErrorText(err)).toBe('postgres unavailable (ECONNREFUSED)');
  });

  it('Redis down (a command on a client that does not queue) is "redis unavailable"', async () => {
    const redis = new Redis(`redis://127.0.0.1:${await closedPort()}`, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    redis.on('error', () => {});
    await redis.connect().catch(() => {});
    const err = await redis.set('k', 'secret-value').catch((e: unknown) => e);
    redis.disconnect();
    expect(unavailableDependency(err)).toBe('redis');
    expect(safeErrorText(err)).toMatch(/^redis unavailable/);
  });

  it('a constraint violation is not an outage, and its text names the code and constraint, never the values', async () => {
    const err = await database.db
      .execute(sql`insert into tasks (api_key_id, prompt, params, plan, routing_reason, status)
                   values ('k', 'secret-prompt-2', '{}', '[]', 'r', 'nope')`)
      .catch((e: unknown) => e);
    expect(unavailableDependency(err)).toBeUndefined();
    expect(safeErrorText(err)).toBe('database error 23514 on tasks_status_check');
    expect(safeErrorText(err)).not.toContain('secret');
  });

  it('any other error keeps its class and message', () => {
    expect(unavailableDependency(new TypeError('x is not a function'))).toBeUndefined();
    expect(safeErrorText(new TypeError('x is not a function'))).toBe('TypeError: x is not a function');
  });
});
