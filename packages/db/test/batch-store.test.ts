import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  batchTasksPage,
  batchVisible,
  cancelBatch,
  deleteBatch,
  findBatchSummary,
  insertBatch,
  type NewBatch,
} from '../src/batch-store.ts';
import type { Db } from '../src/db.ts';
import { attempts, tasks } from '../src/schema.ts';
import { createTaskReader } from '../src/task-reader.ts';
import { completeTask, recordAttempt } from '../src/task-store.ts';
import { openPglite, openPostgres, useMigratedDatabase } from './open-test-databases.ts';

const task = (i: number): NewBatch['tasks'][number] => ({
  taskType: i % 2 ? 'code' : null,
  prompt: `prompt "${i}" with quotes, \\ backslashes and ünïcödé`,
  context: i === 0 ? 'ctx' : null,
  system: null,
  params: { maxTokens: 10 + i, metadata: { i } },
  plan: ['model-a', 'model-b'],
  routingReason: 'test',
  estimatedCostMicros: i,
});

describe.each([
  ['postgres', () => openPostgres('batch_store')],
  ['pglite', () => openPglite()],
] as const)('batch store on %s', (_kind, open) => {
  const database = useMigratedDatabase(open);
  let db: Db;
  beforeAll(() => {
    db = database.db;
  });

  it('inserts every task in order with its fields intact, across insert chunks', async () => {
    const size = 2_345;
    const r = await insertBatch(db, {
      apiKeyId: 'k1',
      name: 'n',
      idempotencyKey: null,
      tasks: Array.from({ length: size }, (_, i) => task(i)),
    });
    if (!r.created) throw new Error('expected a new batch');
    expect(r.tasks.map((t) => t.index)).toEqual(Array.from({ length: size }, (_, i) => i));
    const rows = await batchTasksPage(db, r.batch.id, -1, 10_000);
    expect(rows).toHaveLength(size);
    expect(rows.map((t) => t.id)).toEqual(r.tasks.map((t) => t.id));
    const row = rows[1]!;
    expect(row).toMatchObject({
      apiKeyId: 'k1',
      batchId: r.batch.id,
      batchIndex: 1,
      status: 'queued',
      taskType: 'code',
      prompt: task(1).prompt,
      params: { maxTokens: 11, metadata: { i: 1 } },
      plan: ['model-a', 'model-b'],
      estimatedCostMicros: 1,
      costMicros: 0,
    });
    expect(rows[0]?.context).toBe('ctx');
    expect((await batchTasksPage(db, r.batch.id, 2_000, 1000)).map((t) => t.batchIndex)).toEqual(
      Array.from({ length: size - 2_001 }, (_, i) => 2_001 + i),
    );
  });

  it('an idempotency key returns the first batch and inserts nothing more', async () => {
    const input: NewBatch = { apiKeyId: 'k1', name: null, idempotencyKey: 'same', tasks: [task(0), task(1)] };
    const a = await insertBatch(db, input);
    const b = await insertBatch(db, { ...input, tasks: [task(5)] });
    expect(b.created).toBe(false);
    expect(b.batch.id).toBe(a.batch.id);
    const [{ n }] = (await db
      .select({ n: sql<number>`count(*)::int` })
      .from(tasks)
      .where(eq(tasks.batchId, a.batch.id))) as [{ n: number }];
    expect(n).toBe(2);
    expect((await insertBatch(db, { ...input, apiKeyId: 'k2' })).created).toBe(true);
  });

  it('summarises counts, cost and times in one query; cancels only queued tasks; owner scoping', async () => {
    const r = await insertBatch(db, {
      apiKeyId: 'k3',
      name: null,
      idempotencyKey: null,
      tasks: [task(0), task(1), task(2)],
    });
    if (!r.created) throw new Error('expected a new batch');
    const [t0, t1] = [r.tasks[0]!, r.tasks[1]!];
    const reader = createTaskReader(db);
    const claimed = (id: string) => reader.claim(id, 0, 'model-a', false).then((t) => t !== null);
    await claimed(t0.id);
    await recordAttempt(db, {
      taskId: t0.id,
      step: 0,
      attempt: 1,
      model: 'model-a',
      provider: 'openai',
      outcome: 'succeeded',
      costMicros: 1234,
      latencyMs: 5,
      startedAt: new Date(),
    });
    await completeTask(db, t0.id, { model: 'model-a', resultText: 'ok', finishReason: 'stop', usage: null });
    await claimed(t1.id);

    const s = await findBatchSummary(db, r.batch.id, 'k3');
    expect(s).toMatchObject({
      size: 3,
      costMicros: 1234,
      counts: { queued: 1, running: 1, succeeded: 1, failed: 0, cancelled: 0 },
    });
    expect(s?.startedAt).toBeInstanceOf(Date);
    expect(s?.finishedAt).toBeNull();
    expect(await findBatchSummary(db, r.batch.id, 'other')).toBeNull();
    expect(await findBatchSummary(db, r.batch.id)).not.toBeNull();
    expect(await batchVisible(db, r.batch.id, 'other')).toBe(false);

    const cancelled = await cancelBatch(db, r.batch.id);
    expect(cancelled.map((c) => c.id)).toEqual([r.tasks[2]?.id]);
    expect(cancelled[0]).toMatchObject({ plan: ['model-a', 'model-b'], currentStep: 0 });
    // The running task is not touched and can still finish.
    expect(await claimed(r.tasks[2]!.id)).toBe(false);
    await completeTask(db, t1.id, { model: 'model-a', resultText: 'late', finishReason: 'stop', usage: null });
    const after = await findBatchSummary(db, r.batch.id);
    expect(after?.counts).toEqual({ queued: 0, running: 0, succeeded: 2, failed: 0, cancelled: 1 });
    expect(after?.cancelledAt).toBeInstanceOf(Date);
    expect(after?.finishedAt).toBeInstanceOf(Date);
    expect(await cancelBatch(db, r.batch.id)).toEqual([]);
  });

  it('deleteBatch removes the batch, its tasks and their attempts', async () => {
    const r = await insertBatch(db, { apiKeyId: 'k4', name: null, idempotencyKey: 'del', tasks: [task(0)] });
    if (!r.created) throw new Error('expected a new batch');
    const id = r.tasks[0]!.id;
    await recordAttempt(db, {
      taskId: id,
      step: 0,
      attempt: 1,
      model: 'm',
      provider: 'openai',
      outcome: 'failed',
      latencyMs: 1,
      startedAt: new Date(),
    });
    await deleteBatch(db, r.batch.id);
    expect(await findBatchSummary(db, r.batch.id)).toBeNull();
    expect(await db.select().from(attempts).where(eq(attempts.taskId, id))).toEqual([]);
    // The idempotency key is free again.
    expect(
      (await insertBatch(db, { apiKeyId: 'k4', name: null, idempotencyKey: 'del', tasks: [task(0)] })).created,
    ).toBe(true);
  });
});
