import { applyRetention, type RetentionBatch } from '@orchex/db';
import { faults } from '@orchex/providers/fake';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, TEST_ADMIN_KEY, type TestSystem } from '../../../test/support/start-system.ts';

const OLD = 60;
const NEW = 60;
const BATCH = 7;
const AGE_DAYS = 40;

const day = (d: Date) => d.toISOString().slice(0, 10);

async function runBatch(sys: TestSystem, label: string, n: number): Promise<string> {
  const res = await sys.call('/v1/batches', {
    method: 'POST',
    json: { tasks: Array.from({ length: n }, (_, i) => ({ prompt: `${label} task ${i}`, task_type: 'code' })) },
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function waitBatch(sys: TestSystem, id: string): Promise<{ counts: Record<string, number> }> {
  for (const until = Date.now() + 90_000; ; ) {
    const b = (await (await sys.call(`/v1/batches/${id}`)).json()) as {
      finished_at: string | null;
      counts: Record<string, number>;
    };
    if (b.finished_at || Date.now() > until) return b;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('retention (ORCHEX_RETENTION_DAYS): old tasks emptied in bounded batches while new ones run', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem('retention', { workers: { concurrency: 16 } });
  });
  afterAll(async () => sys?.close());

  it('deletes old attempts and bodies batch by batch; cost reports over the emptied days are unchanged', async () => {
    const db = sys.database.db;
    // Old work: a batch, some of it re-routed once so tasks have more than one attempt.
    sys.fake.script('claude-test', [faults.contentFilter(), faults.contentFilter(), faults.contentFilter()]);
    const oldBatch = await runBatch(sys, 'old', OLD);
    expect((await waitBatch(sys, oldBatch)).counts).toMatchObject({ succeeded: OLD });
    // …made 40 days old: its tasks, attempts and the day of its rollups.
    const interval = sql.raw(`interval '${AGE_DAYS} days'`);
    await db.execute(sql`update tasks set created_at = created_at - ${interval}, started_at = started_at - ${interval},
      finished_at = finished_at - ${interval}`);
    await db.execute(sql`update attempts set started_at = started_at - ${interval},
      finished_at = finished_at - ${interval}`);
    await db.execute(sql`update cost_rollups set day = day - ${AGE_DAYS}::int`);
    const oldAttempts = await db.execute<{ n: number }>(sql`select count(*)::int as n from attempts`);
    expect(oldAttempts.rows[0]?.n).toBeGreaterThan(OLD); // the re-routes added attempts

    const oldDay = day(new Date(Date.now() - AGE_DAYS * 86_400_000));
    const range = `from=${day(new Date(Date.now() - (AGE_DAYS + 2) * 86_400_000))}&to=${day(new Date(Date.now() - (AGE_DAYS - 2) * 86_400_000))}`;
    const report = async (q: string) => {
      const res = await sys.call(`/v1/costs/report?${q}`, { key: TEST_ADMIN_KEY });
      expect(res.status).toBe(200);
      return res.json();
    };
    const before = {
      byModel: await report(`${range}&group_by=model`),
      byDay: await report(`${range}&group_by=day`),
    };
    expect(JSON.stringify(before.byDay)).toContain(oldDay);
    const oldIds = (
      await db.execute<{ id: string; cost_micros: string }>(sql`select id, cost_micros from tasks order by id`)
    ).rows;

    // New work runs while retention empties the old in batches of 7.
    sys.fake.setDefault('claude-test', { type: 'ok', latencyMs: 150 });
    const newBatch = await runBatch(sys, 'new', NEW);
    const batches: RetentionBatch[] = [];
    const done = await applyRetention(db, {
      before: new Date(Date.now() - 30 * 86_400_000),
      batchSize: BATCH,
      onBatch: (b) => batches.push(b),
    });
    const running = await db.execute<{ n: number }>(
      sql`select count(*)::int as n from tasks where status in ('queued', 'running')`,
    );
    expect((await waitBatch(sys, newBatch)).counts).toMatchObject({ succeeded: NEW });

    expect(done.tasks).toBe(OLD);
    expect(batches.length).toBe(Math.ceil(OLD / BATCH));
    expect(batches.every((b) => b.tasks <= BATCH)).toBe(true);
    expect(done.attempts).toBe(oldAttempts.rows[0]?.n);
    // Retention ran while new tasks were in progress (the check is honest only if they overlapped).
    expect(running.rows[0]?.n).toBeGreaterThan(0);

    // Old tasks: bodies and attempts gone; status, model and cost stay, and the API still answers for them.
    const old = await db.execute<{ n: number; emptied: number; attempts: number }>(sql`
      select count(*)::int as n,
             count(*) filter (where prompt = '' and result_text is null and purged_at is not null)::int as emptied,
             (select count(*)::int from attempts a join tasks t on t.id = a.task_id where t.purged_at is not null) as attempts
      from tasks where batch_id = ${oldBatch}::uuid`);
    expect(old.rows[0]).toEqual({ n: OLD, emptied: OLD, attempts: 0 });
    const after = (
      await db.execute<{ id: string; cost_micros: string }>(
        sql`select id, cost_micros from tasks where batch_id = ${oldBatch}::uuid order by id`,
      )
    ).rows;
    expect(after).toEqual(oldIds);
    const one = (await (await sys.call(`/v1/tasks/${oldIds[0]?.id}`, { key: TEST_ADMIN_KEY })).json()) as {
      status: string;
      cost: number;
    };
    expect(one.status).toBe('succeeded');
    expect(one.cost).toBeGreaterThan(0);

    // New tasks untouched.
    const fresh = await db.execute<{ n: number; kept: number }>(sql`
      select count(*)::int as n, count(*) filter (where purged_at is null and result_text is not null)::int as kept
      from tasks where batch_id = ${newBatch}::uuid`);
    expect(fresh.rows[0]).toEqual({ n: NEW, kept: NEW });

    // The money history over the emptied days is exactly what it was.
    expect(await report(`${range}&group_by=model`)).toEqual(before.byModel);
    expect(await report(`${range}&group_by=day`)).toEqual(before.byDay);
    // A second run finds nothing left to do.
    expect((await applyRetention(db, { before: new Date(Date.now() - 30 * 86_400_000), batchSize: BATCH })).tasks).toBe(
      0,
    );
  }, 180_000);
});
