import type { Assume } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from './schema.ts';

/**
 * What `db.execute(sql)` resolves to on both drivers: node-postgres' QueryResult and PGlite's Results differ in
 * everything else, but both carry `rows`, so code written against Db can read raw query results without a cast.
 */
export interface DbQueryResultHKT extends PgQueryResultHKT {
  type: DbQueryResult<Assume<this['row'], Record<string, unknown>>>;
}

/** The part of a raw query result both drivers share. */
export interface DbQueryResult<TRow> {
  rows: TRow[];
}

/** The Drizzle database type shared by node-postgres and PGlite; a transaction (`tx`) is also a Db. */
export type Db = PgDatabase<DbQueryResultHKT, typeof schema>;
