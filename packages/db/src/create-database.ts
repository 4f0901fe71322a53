import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import type { Db } from './db.ts';
import { lockDataDir } from './lock-data-dir.ts';
import * as schema from './schema.ts';

// Re-exported because callers naturally look for the db type next to the function that makes one.
export type { Db } from './db.ts';

/** Options for createDatabase. */
export interface CreateDatabaseOptions {
  /** Postgres connection URL; unset → embedded PGlite. Default: unset. */
  url?: string;
  /** PGlite data folder (ignored with url). Default: `.orchex/pglite` under process.cwd(). */
  dataDir?: string;
  /** Most pooled Postgres connections this process opens (ignored for PGlite). Default: 10. */
  poolSize?: number;
}

/** A ready database: the Drizzle `db`, the raw driver client beneath it, and close(). */
export type DatabaseHandle = { db: Db; close(): Promise<void> } & (
  | { kind: 'postgres'; pool: pg.Pool }
  | { kind: 'pglite'; client: PGlite; dataDir: string }
);

/** Default PGlite data folder, relative to the working directory. */
export const DEFAULT_PGLITE_DIR = path.join('.orchex', 'pglite');

/**
 * Opens Postgres (url set) or embedded PGlite (url unset). PGlite is a single-process database: the API and the
 * worker must then run in one process (`npm start` does); a second process opening the same data folder gets an
 * error (see lockDataDir) instead of corrupting it.
 */
export async function createDatabase(options: CreateDatabaseOptions = {}): Promise<DatabaseHandle> {
  if (options.url) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      application_name: 'orchex',
      // Fail fast when Postgres is down instead of hanging a job on connect; callers retry.
      connectionTimeoutMillis: 10_000,
    });
    // A client losing its server (Postgres restart, network blip) emits 'error': an idle one on the pool, a checked-out
    // one (e.g. inside a transaction, between statements, when Postgres sends 57P01 at shutdown) on itself, where
    // pg-pool has removed its own listener. Unhandled, either would crash the process; the pool discards the client
    // and the query in progress fails with the outage error, which callers treat as such.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    const db: Db = drizzleNodePg(pool, { schema });
    return { kind: 'postgres', db, pool, close: once(() => pool.end()) };
  }
  const dataDir = path.resolve(options.dataDir ?? DEFAULT_PGLITE_DIR);
  mkdirSync(dataDir, { recursive: true });
  const unlock = lockDataDir(dataDir);
  let client: PGlite;
  try {
    client = await PGlite.create(dataDir);
  } catch (err) {
    unlock();
    throw err;
  }
  const db: Db = drizzlePglite(client, { schema });
  const close = async () => {
    try {
      await client.close();
    } finally {
      unlock();
    }
  };
  return { kind: 'pglite', db, client, dataDir, close: once(close) };
}

// Both drivers throw on a second close; shutdown paths (signal handler + finally) may well call it twice.
function once(fn: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= fn();
    return closing;
  };
}
