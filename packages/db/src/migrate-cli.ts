// `npm run db:migrate`: applies the committed migrations to DATABASE_URL (unset → PGlite in ORCHEX_DATA_DIR).

import { parseEnv, redactUrl } from '@orchex/core';
import { createDatabase, type DatabaseHandle } from './create-database.ts';
import { runMigrations } from './migrate.ts';

async function main(): Promise<number> {
  let url: string | undefined;
  let where = 'PGlite';
  let handle: DatabaseHandle | undefined;
  try {
    const { database } = parseEnv();
    url = database.url;
    if (url) where = `Postgres at DATABASE_URL=${redactUrl(url)}`;
    handle = await createDatabase(database);
    if (handle.kind === 'pglite') where = `PGlite in ${handle.dataDir} (DATABASE_URL unset)`;
    const { applied } = await runMigrations(handle);
    console.log(`db:migrate: ${applied === 0 ? 'already current' : `applied ${applied} migration(s)`} on ${where}`);
    return 0;
  } catch (err) {
    const hint = url ? ' (is Postgres running, and does DATABASE_URL name an existing database?)' : '';
    console.error(`db:migrate: cannot migrate ${where}: ${describe(err)}${hint}`);
    return 1;
  } finally {
    await handle?.close().catch(() => {});
  }
}

// node-postgres reports "localhost" refusing on both ::1 and 127.0.0.1 as an AggregateError with an empty message.
function describe(err: unknown): string {
  const first = err instanceof AggregateError ? err.errors[0] : err;
  const message = first instanceof Error ? first.message : String(first);
  const code = (first as { code?: unknown } | null)?.code;
  return code ? `${message} [${String(code)}]` : message;
}

process.exitCode = await main();
