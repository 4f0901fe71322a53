import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db.ts';
import { createGroupCommitWriter } from '../src/group-commit-writer.ts';
import { runMigrations } from '../src/migrate.ts';
import { tasks } from '../src/schema.ts';
import { only, openPglite, openPostgres, type TestDatabase } from './open-test-databases.ts';

async function insertTask(tx: Db, label: string): Promise<{ id: string; txid: string }> {
  const row = only(
    await tx
      .insert(tasks)
      .values({ apiKeyId: 'gc', prompt: label, params: { maxTokens: 1 }, plan: ['m'], routingReason: 'test' })
      .returning({ id: tasks.id }),
  );
  // txid_current() names the transaction the op ran in: equal ids mean a shared transaction.
  const res = await tx.execute<{ txid: string }>(sql`select txid_current()::text as txid`);
  return { id: row.id, txid: only(res.rows).txid };
}

describe.each([
  ['postgres', () => openPostgres('group_commit')],
  ['pglite', () => openPglite()],
] as const)('group-commit writer on %s', (_kind, open) => {
  let d: TestDatabase;
  beforeAll(async () => {
    d = await open();
    await runMigrations(d.handle);
  });
  afterAll(() => d?.dispose());

  it('runs ops submitted together in fewer transactions than ops, and commits them all', async () => {
    const writer = createGroupCommitWriter(d.handle.db);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => writer.run((tx) => insertTask(tx, `op-${i}`))),
    );
    const txids = new Set(results.map((r) => r.txid));
    expect(txids.size).toBeLessThan(results.length);
    expect(txids.size).toBe(1);

    const committed = await d.handle.db
      .select({ id: tasks.id })
      .from(tasks)
      .where(
        inArray(
          tasks.id,
          results.map((r) => r.id),
        ),
      );
    expect(committed).toHaveLength(50);
    await writer.close();
  });

  it('splits a burst larger than maxGroupSize into several groups', async () => {
    const writer = createGroupCommitWriter(d.handle.db, { maxGroupSize: 10 });
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) => writer.run((tx) => insertTask(tx, `cap-${i}`))),
    );
    expect(new Set(results.map((r) => r.txid)).size).toBe(3);
    await writer.close();
  });

  it('fails only the caller whose op fails; the others commit', async () => {
    const writer = createGroupCommitWriter(d.handle.db);
    const bad = new Error('bad op');
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        writer.run(async (tx) => {
          const r = await insertTask(tx, `mixed-${i}`);
          if (i === 7) throw bad;
          return r;
        }),
      ),
    );
    const rejected = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ i, reason: o.reason }] : []));
    expect(rejected).toEqual([{ i: 7, reason: bad }]);
    const ids = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.id] : []));
    expect(ids).toHaveLength(19);
    const committed = await d.handle.db.select({ id: tasks.id }).from(tasks).where(inArray(tasks.id, ids));
    expect(committed).toHaveLength(19);
    // The failed op's insert was rolled back both in the group and when re-run alone.
    const failed = await d.handle.db.select().from(tasks).where(eq(tasks.prompt, 'mixed-7'));
    expect(failed).toEqual([]);
    await writer.close();
  });

  it('fails only the op that breaks a constraint', async () => {
    const writer = createGroupCommitWriter(d.handle.db);
    const ops = [
      writer.run((tx) => insertTask(tx, 'fine-1')),
      writer.run((tx) =>
        tx.execute(sql`insert into tasks (api_key_id, prompt, params, plan, routing_reason, status)
          values ('gc', 'bad-status', '{"maxTokens":1}', '[]', 'r', 'bogus')`),
      ),
      writer.run((tx) => insertTask(tx, 'fine-2')),
    ];
    const [a, b, c] = await Promise.allSettled(ops);
    expect(a?.status).toBe('fulfilled');
    expect(b?.status).toBe('rejected');
    expect(c?.status).toBe('fulfilled');
  });

  it('flushes on close and refuses work afterwards', async () => {
    const writer = createGroupCommitWriter(d.handle.db);
    const pending = writer.run((tx) => insertTask(tx, 'at-close'));
    await writer.close();
    await expect(pending).resolves.toMatchObject({ id: expect.any(String) });
    await expect(writer.run((tx) => insertTask(tx, 'after-close'))).rejects.toThrow(/closed/);
  });
});
