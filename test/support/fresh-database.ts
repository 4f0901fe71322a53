import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A throwaway database for one test file. */
export interface FreshDatabase {
  /** Connection URL of the new database (same server and credentials as the base URL). */
  url: string;
  /** Closes every connection to it and drops it. */
  drop(): Promise<void>;
}

/**
 * Creates `orchex_t_<label>_<random>` on the server of `baseUrl`, so each test file owns a database and files can
 * run in parallel without seeing each other's rows or migrations.
 */
export async function freshDatabase(baseUrl: string, label: string): Promise<FreshDatabase> {
  const safeLabel = label
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .slice(0, 32);
  const name = `orchex_t_${safeLabel}_${randomBytes(4).toString('hex')}`;
  await withAdmin(baseUrl, (c) => c.query(`create database "${name}"`));
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      withAdmin(baseUrl, async (c) => {
        // WITH (FORCE) (Postgres 13+) also ends sessions a test forgot to close, e.g. after a failed assertion.
        await c.query(`drop database if exists "${name}" with (force)`);
      }),
  };
}

async function withAdmin<T>(baseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: baseUrl, application_name: 'orchex-tests' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
