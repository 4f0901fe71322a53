import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import { freshDatabase } from '../../../test/support/fresh-database.ts';
import { createDatabase, type DatabaseHandle, type Db } from '../src/create-database.ts';
import { runMigrations } from '../src/migrate.ts';

/** A database handle for a test plus how to throw it away. */
export interface TestDatabase {
  handle: DatabaseHandle;
  /** Closes the handle and deletes the database (or PGlite folder). */
  dispose(): Promise<void>;
}

/** A handle on a new database on the test Postgres server (a database of its own, so files run in parallel). */
export async function openPostgres(label: string): Promise<TestDatabase & { url: string }> {
  const fresh = await freshDatabase(inject('databaseUrl'), label);
  const handle = await createDatabase({ url: fresh.url });
  return {
    url: fresh.url,
    handle,
    dispose: async () => {
      await handle.close();
      await fresh.drop();
    },
  };
}

/** A handle on a new PGlite database in a temporary folder. */
export async function openPglite(): Promise<TestDatabase & { dataDir: string }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'orchex-pglite-'));
  const handle = await createDatabase({ dataDir }).catch(async (err: unknown) => {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  });
  return {
    dataDir,
    handle,
    dispose: async () => {
      await handle.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The first row, or a test failure naming what was expected. */
export function only<T>(rows: readonly T[], what = 'a row'): T {
  const [row] = rows;
  if (row === undefined) throw new Error(`expected ${what}, got none`);
  return row;
}

/**
 * Registers hooks that open a database before the enclosing `describe` (migrated) and dispose of it after.
 * Read `.db` inside tests, not at describe time (it is set in beforeAll).
 */
export function useMigratedDatabase(open: () => Promise<TestDatabase>): { readonly db: Db } {
  let d: TestDatabase | undefined;
  beforeAll(async () => {
    d = await open();
    await runMigrations(d.handle);
  });
  afterAll(() => d?.dispose());
  return {
    get db() {
      if (!d) throw new Error('the database is opened in beforeAll');
      return d.handle.db;
    },
  };
}
