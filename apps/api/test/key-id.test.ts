import { createHash, createHmac } from 'node:crypto';
import { getSetting } from '@orchex/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, TEST_API_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import { submit } from '../../../test/support/task-client.ts';
import { KEY_SECRET_SETTING } from '../src/key-id-secret.ts';

describe('stored API key ids', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem('key_id', { workers: false });
  });
  afterAll(async () => sys?.close());

  it('are an HMAC under a server secret kept in Postgres, not a hash anyone can recompute from a guessed key', async () => {
    const id = await submit(sys, { prompt: 'whose task is this?', task_type: 'simple' });
    const { rows } = await sys.database.db.execute<{ api_key_id: string }>(
      sql`select api_key_id from tasks where id = ${id}::uuid`,
    );
    const stored = rows[0]!.api_key_id;
    const secret = await getSetting<string>(sys.database.db, KEY_SECRET_SETTING);
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(stored).toBe(createHmac('sha256', secret!).update(TEST_API_KEY).digest('hex').slice(0, 32));
    expect(stored).not.toContain(createHash('sha256').update(TEST_API_KEY).digest('hex').slice(0, 24));
    // The key itself never reaches the database.
    const leaked = await sys.database.db.execute<{ n: number }>(
      sql`select count(*)::int as n from tasks where api_key_id like ${`%${TEST_API_KEY}%`}`,
    );
    expect(leaked.rows[0]!.n).toBe(0);
  });
});
