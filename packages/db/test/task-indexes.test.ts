import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { insertTask } from '../src/task-store.ts';
import { openPostgres, useMigratedDatabase } from './open-test-databases.ts';

// The tasks table's indexes on columns most tasks leave NULL are partial, and the sweep's is partial on the
// statuses in progress (migration 0007): each full index cost every task three entries (insert, claim, answer) that
// no query reads. The attempts table keeps only the index its reads use (migration 0008). These tests hold what that
// could break: each query shape that needs an index still gets one — under a generic plan, so the proof that a
// partial index applies cannot lean on a parameter's value — and an idempotency key is still unique per API key,
// NULL keys never colliding.

const database = useMigratedDatabase(() => openPostgres('task_indexes'));

/** The indexes a statement's generic plan reads, with sequential scans priced out (one transaction, one session). */
function indexesUsed(query: string, params: string[]): Promise<string[]> {
  return database.db.transaction(async (tx) => {
    await tx.execute(sql`set local enable_seqscan = off`);
    await tx.execute(sql`set local plan_cache_mode = force_generic_plan`);
    await tx.execute(sql.raw(`prepare q as ${query}`));
    try {
      const args = params.length ? `(${params.map((p) => `'${p}'`).join(', ')})` : '';
      const res = await tx.execute<{ 'QUERY PLAN': unknown }>(sql.raw(`explain (format json) execute q${args}`));
      return [...JSON.stringify(res.rows[0]?.['QUERY PLAN']).matchAll(/"Index Name":"([^"]+)"/g)].map(
        (m) => m[1] ?? '',
      );
    } finally {
      await tx.execute(sql`deallocate q`); // a prepared statement outlives its transaction
    }
  });
}

const ID = '00000000-0000-4000-8000-000000000001';

describe('the tasks and attempts indexes', () => {
  it('serve the task queries that need them, partial as they are', async () => {
    // findByIdempotencyKey
    expect(
      await indexesUsed('select id from tasks where api_key_id = $1 and idempotency_key = $2', ['k', 'x']),
    ).toEqual(['tasks_api_key_idempotency_key_uq']);
    // batch-store: a batch's tasks in order
    expect(await indexesUsed('select id from tasks where batch_id = $1 order by batch_index', [ID])).toEqual([
      'tasks_batch_id_idx',
    ]);
    // split-task-store: a split task's parts
    expect(await indexesUsed('select id from tasks where parent_task_id = $1', [ID])).toEqual([
      'tasks_parent_task_id_idx',
    ]);
    // findInProgressTasks: oldest first, keyset-paged, no sort
    const sweep = await indexesUsed(
      `select t.id from tasks t where t.status in ('queued', 'running') and t.created_at < now()
         and not exists (select 1 from tasks p where p.parent_task_id = t.id)
         and (t.created_at, t.id) > ($1::timestamptz, $2::uuid) order by t.created_at, t.id limit 10`,
      ['2026-01-01T00:00:00Z', ID],
    );
    expect(sweep.sort()).toEqual(['tasks_in_progress_idx', 'tasks_parent_task_id_idx']);
    // findSplitTasksToFinish: running tasks (implies the index's IN list)
    expect(await indexesUsed(`select id from tasks where status = 'running' and part_kind is null`, [])).toContain(
      'tasks_in_progress_idx',
    );
  });

  it('serve every read of attempts: they all go by task', async () => {
    const byTask = ['attempts_task_step_attempt_uq'];
    // findTask: a task's attempts in order; the sweep: the last attempt of a step; retention: a task's attempts
    expect(
      await indexesUsed('select * from attempts where task_id = $1 order by started_at, step, attempt', [ID]),
    ).toEqual(byTask);
    expect(await indexesUsed('select max(attempt) from attempts where task_id = $1 and step = $2', [ID, '0'])).toEqual(
      byTask,
    );
    expect(await indexesUsed('delete from attempts where task_id = $1', [ID])).toEqual(byTask);
  });

  it('keep an idempotency key unique per API key, and tasks without one apart', async () => {
    const row = (apiKeyId: string, idempotencyKey: string | null) => ({
      apiKeyId,
      idempotencyKey,
      prompt: 'p',
      plan: ['m'],
      routingReason: 'test',
      params: { maxTokens: 16 },
    });
    const first = await insertTask(database.db, row('k1', 'same'));
    const again = await insertTask(database.db, row('k1', 'same'));
    expect(first.created).toBe(true);
    expect(again).toEqual({ task: first.task, created: false });
    expect((await insertTask(database.db, row('k2', 'same'))).created).toBe(true);
    const a = await insertTask(database.db, row('k1', null));
    const b = await insertTask(database.db, row('k1', null));
    expect(a.created && b.created).toBe(true);
    expect(a.task.id).not.toBe(b.task.id);
  });
});
