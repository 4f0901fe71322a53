import { eq, sql } from 'drizzle-orm';
import type { Db } from './db.ts';
import { settings } from './schema.ts';

/** A setting's value, or undefined when it was never set. */
export async function getSetting<T>(db: Db, key: string): Promise<T | undefined> {
  const [row] = await db.select({ value: settings.value }).from(settings).where(eq(settings.key, key));
  return row ? (row.value as T) : undefined;
}

/** Sets a setting (insert or replace); `null` is stored as JSON null (e.g. "no daily limit"). */
export async function putSetting(db: Db, key: string, value: unknown): Promise<void> {
  // Drizzle binds a JS null as SQL NULL, which the NOT NULL column refuses (PUT /v1/budget with null was a 500).
  const json = value === null ? sql`'null'::jsonb` : value;
  await db
    .insert(settings)
    .values({ key, value: json })
    .onConflictDoUpdate({ target: settings.key, set: { value: json, updatedAt: sql`now()` } });
}

/** Removes a setting; reading it then gives undefined. */
export async function deleteSetting(db: Db, key: string): Promise<void> {
  await db.delete(settings).where(eq(settings.key, key));
}

/**
 * The setting's value, creating it with `make()` first if it is missing. Concurrent callers agree: the first insert
 * wins and everyone reads it back.
 */
export async function getOrCreateSetting<T>(db: Db, key: string, make: () => T): Promise<T> {
  await db.insert(settings).values({ key, value: make() }).onConflictDoNothing();
  const value = await getSetting<T>(db, key);
  if (value === undefined) throw new Error(`setting ${key} vanished after insert`);
  return value;
}
