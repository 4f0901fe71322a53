import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyRetention } from '@orchex/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivatePostgres, startPrivatePostgres } from '../../../test/support/private-postgres.ts';
import { startSystem, TEST_ADMIN_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import { submitAndWait } from '../../../test/support/task-client.ts';
import { testConfigSource } from '../../../test/support/test-config.ts';

// PgBouncer in transaction pooling hands each transaction (each statement outside one) to whichever server
// connection is free, and by default (max_prepared_statements = 0) does not carry named prepared statements across
// them. So orchex must send every statement unnamed and keep no session state: no named PREPARE, no session SET,
// LISTEN, temp tables or cursors WITH HOLD, and no session advisory lock outside migrations (which run directly
// against Postgres; docs/scaling.md). This test runs the whole path on a private Postgres that logs every statement
// and reads what orchex actually sent.

/** Statements in a log that leave state on the server session. */
function sessionState(logText: string): string[] {
  const statements = [...logText.matchAll(/LOG: {2}(?:statement|execute [^:]+): ([^\n]*)/g)].map((m) => m[1] ?? '');
  const stateful =
    /^\s*(prepare\s|set\s+(?!local\s)|listen\s|create\s+temp|declare\s.*\bwith\s+hold|select\s+pg_advisory_lock)/i;
  return statements.filter((s) => stateful.test(s));
}

describe('Postgres traffic is PgBouncer transaction-pooling safe (prepared statements off)', () => {
  let pg: PrivatePostgres;
  let sys: TestSystem;
  let migrated = 0;
  beforeAll(async () => {
    pg = await startPrivatePostgres({ settings: { log_statement: 'all', log_line_prefix: "'%m [%p] '" } });
    sys = await startSystem('pgbouncer', {
      databaseUrl: pg.url,
      configSource: testConfigSource({ long_context: { map_max_tokens: 200 } }),
    });
    migrated = log().length; // everything before this point was migration and set-up
  }, 120_000);
  afterAll(async () => {
    await sys?.close();
    await pg?.destroy();
  });

  const log = () => readFileSync(join(pg.dataDir, '..', 'postgres.log'), 'utf8');

  it('a task, a batch, a long context, costs, budgets and retention: only unnamed statements, no session state', async () => {
    const t = await submitAndWait(sys, { prompt: 'hello', task_type: 'code' });
    expect(t.status).toBe('succeeded');
    const b = await sys.call('/v1/batches', {
      method: 'POST',
      json: { tasks: Array.from({ length: 30 }, (_, i) => ({ prompt: `b${i}`, task_type: 'research' })) },
    });
    expect(b.status).toBe(202);
    const long = await submitAndWait(
      sys,
      { prompt: 'Summarise', context: 'All work and no play. '.repeat(9000), fallback_chain: ['llama-test'] },
      90_000,
    );
    expect(long.status).toBe('succeeded');
    expect((await sys.call('/v1/costs/report?group_by=model', { key: TEST_ADMIN_KEY })).status).toBe(200);
    const put = await sys.call('/v1/budget', { method: 'PUT', json: { max_daily_cost: 50 }, key: TEST_ADMIN_KEY });
    expect(put.status).toBe(200);
    await applyRetention(sys.database.db, { before: new Date(Date.now() + 60_000), batchSize: 10 });

    const traffic = log().slice(migrated);
    const executes = [...traffic.matchAll(/LOG: {2}execute ([^:]+):/g)].map((m) => m[1]);
    expect(executes.length).toBeGreaterThan(50);
    expect(new Set(executes)).toEqual(new Set(['<unnamed>']));
    expect(sessionState(traffic)).toEqual([]);
    // The filter does see session state when there is some: the migrations' advisory lock, before the traffic.
    expect(sessionState(log().slice(0, migrated))).toEqual([expect.stringMatching(/pg_advisory_lock/)]);
  }, 150_000);
});
