import type { Db } from './db.ts';

/**
 * Statements every task runs (the API's read for `GET ?wait`, the worker's claim), built by Drizzle once per
 * database handle instead of on every call: building a select of the task's ~35 columns costs ~0.3 ms of CPU, more
 * than Postgres spends running it. Built with `.prepare(UNNAMED)`.
 */
export function preparedFor<T>(build: (db: Db) => T): (db: Db) => T {
  const byDb = new WeakMap<Db, T>();
  return (db) => {
    let prepared = byDb.get(db);
    if (prepared === undefined) {
      prepared = build(db);
      byDb.set(db, prepared);
    }
    return prepared;
  };
}

/**
 * The name to give Drizzle's `.prepare()`: none. node-postgres then sends the statement unnamed, as every other, so
 * PgBouncer's transaction pooling stays safe (a named statement lives on one server connection; see
 * pgbouncer-compat.test.ts). What is saved is Drizzle's work, not Postgres's parse.
 */
export const UNNAMED = '';
