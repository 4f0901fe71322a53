import { randomBytes } from 'node:crypto';
import { type Db, getOrCreateSetting } from '@orchex/db';
import { type KeyId, keyIdWith } from './auth.ts';

/** The settings row holding the key-id secret when ORCHEX_KEY_SECRET is not set. */
export const KEY_SECRET_SETTING = 'auth.key_id_secret';

/**
 * How this deployment names API keys: with ORCHEX_KEY_SECRET when set, else with a secret generated once and kept in
 * Postgres, so every API instance (and every restart) derives the same ids without configuration.
 */
export async function loadKeyId(db: Db, configured?: string): Promise<KeyId> {
  const secret =
    configured ?? (await getOrCreateSetting(db, KEY_SECRET_SETTING, () => randomBytes(32).toString('hex')));
  return keyIdWith(secret);
}
