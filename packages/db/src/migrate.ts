import { fileURLToPath } from 'node:url';
import { runtimeFile } from '@orchex/core';
import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import type { DatabaseHandle } from './create-database.ts';

/** The committed drizzle-kit migrations (packages/db/drizzle; `npm run build` copies them to dist/drizzle). */
export const MIGRATIONS_FOLDER = fileURLToPath(runtimeFile(import.meta.url, '../drizzle', './drizzle'));

// Where drizzle-orm's migrator records applied migrations (its defaults).
const JOURNAL = 'drizzle.__drizzle_migrations';

// Any fixed 64-bit key works; it only has to be the same in every orchex process.
const MIGRATION_LOCK_KEY = '4827361092837465';

/** Result of runMigrations. */
export interface MigrationResult {
  /** Migrations applied by this call (0 when already current). */
  applied: number;
}

/** Migration state, for `orchex doctor`. */
export interface MigrationStatus {
  /** True when every committed migration has been applied. */
  current: boolean;
  /** Committed migrations not yet applied. */
  pending: number;
}

/**
 * Applies the committed migrations; a no-op when current. On Postgres it holds a session advisory lock, so
 * processes that start together migrate one after another (the later ones find nothing to do). With PGlite only
 * one process may open the data folder at all, so no lock is needed.
 */
export async function runMigrations(handle: DatabaseHandle): Promise<MigrationResult> {
  const config = { migrationsFolder: MIGRATIONS_FOLDER };
  if (handle.kind === 'pglite') {
    const before = await checkMigrationsCurrent(handle);
    await migratePglite(drizzlePglite(handle.client), config);
    return { applied: before.pending };
  }
  // The lock belongs to a session, so lock, migrate and unlock must all use this one connection, not the pool.
  const client = await handle.pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      const db = drizzleNodePg(client);
      const before = await pendingMigrations(db);
      await migrateNodePg(db, config);
      return { applied: before };
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch((err: Error) => {
        broken = err;
      });
    }
  } finally {
    // A connection whose unlock failed may still hold the lock: destroy it rather than return it to the pool.
    client.release(broken);
  }
}

/** Compares the committed migrations with those recorded in the database. */
export async function checkMigrationsCurrent(handle: DatabaseHandle): Promise<MigrationStatus> {
  const pending = await pendingMigrations(handle.db);
  return { current: pending === 0, pending };
}

interface Executor {
  execute(query: ReturnType<typeof sql>): PromiseLike<{ rows: Record<string, unknown>[] }>;
}

// Mirrors drizzle-orm's migrator rule: a migration is pending when it is newer than the last one recorded.
async function pendingMigrations(db: Executor): Promise<number> {
  const committed = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER });
  const exists = await db.execute(sql`select to_regclass(${JOURNAL}) is not null as "exists"`);
  if (exists.rows[0]?.exists !== true) return committed.length;
  const last = await db.execute(sql.raw(`select max(created_at) as "createdAt" from ${JOURNAL}`));
  const lastMillis = Number(last.rows[0]?.createdAt ?? Number.NEGATIVE_INFINITY);
  return committed.filter((m) => !(lastMillis >= m.folderMillis)).length;
}
