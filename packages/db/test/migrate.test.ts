import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../src/create-database.ts';
import { checkMigrationsCurrent, MIGRATIONS_FOLDER, runMigrations } from '../src/migrate.ts';
import { openPglite, openPostgres, type TestDatabase } from './open-test-databases.ts';

/** How many migrations are committed: every one must apply on a fresh database. */
const COMMITTED = (
  JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }
).entries.length;

const opened: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(opened.map((d) => d.dispose()));
});

async function tableNames(d: TestDatabase): Promise<string[]> {
  const res = await d.handle.db.execute<{ name: string }>(
    sql`select table_name as name from information_schema.tables where table_schema = 'public' order by 1`,
  );
  return res.rows.map((r) => r.name);
}

describe.each([
  ['postgres', () => openPostgres('migrate')],
  ['pglite', () => openPglite()],
] as const)('runMigrations on %s', (_kind, open) => {
  it('applies the committed migrations, and a second run is a no-op', async () => {
    const d = await open();
    opened.push(d);
    expect(await checkMigrationsCurrent(d.handle)).toEqual({ current: false, pending: COMMITTED });

    expect(await runMigrations(d.handle)).toEqual({ applied: COMMITTED });
    expect(await tableNames(d)).toEqual(['attempts', 'batches', 'cost_rollups', 'settings', 'tasks']);
    expect(await checkMigrationsCurrent(d.handle)).toEqual({ current: true, pending: 0 });

    expect(await runMigrations(d.handle)).toEqual({ applied: 0 });
    const journal = await d.handle.db.execute<{ n: number }>(
      sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
    );
    expect(journal.rows[0]?.n).toBe(COMMITTED);
  });
});

describe('runMigrations on postgres from two processes at once', () => {
  it('lets both succeed and applies each migration once', async () => {
    const d = await openPostgres('migrate_race');
    opened.push(d);
    // Two handles = two pools, like two processes started together.
    const other = await createDatabase({ url: d.url });
    try {
      const results = await Promise.all([runMigrations(d.handle), runMigrations(other)]);
      expect(results.map((r) => r.applied).sort()).toEqual([0, COMMITTED]);
      expect(await checkMigrationsCurrent(other)).toEqual({ current: true, pending: 0 });
    } finally {
      await other.close();
    }
  });
});

describe('PGlite data folder', () => {
  it('keeps the schema across reopen', async () => {
    const d = await openPglite();
    opened.push(d);
    await runMigrations(d.handle);
    await d.handle.close();
    const again = await createDatabase({ dataDir: d.dataDir });
    try {
      expect(await checkMigrationsCurrent(again)).toEqual({ current: true, pending: 0 });
    } finally {
      await again.close();
    }
  });

  it('refuses a second opener while the folder is in use', async () => {
    const d = await openPglite();
    opened.push(d);
    await expect(createDatabase({ dataDir: d.dataDir })).rejects.toThrow(/already open in process \d+.*DATABASE_URL/s);
  });
});
