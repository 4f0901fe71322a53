import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db.ts';
import { pgErrorCode } from '../src/pg-error-code.ts';
import { attempts, type NewTask, tasks } from '../src/schema.ts';
import { only, openPglite, openPostgres, useMigratedDatabase } from './open-test-databases.ts';

function newTask(overrides: Partial<NewTask> = {}): NewTask {
  return {
    apiKeyId: 'key-a',
    prompt: 'hello',
    params: { maxTokens: 100, metadata: { run: 1 } },
    plan: ['model-a', 'model-b'],
    routingReason: 'test',
    ...overrides,
  };
}

async function rejectionCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return pgErrorCode(err) ?? `no code: ${String(err)}`;
  }
  return 'resolved';
}

describe.each([
  ['postgres', () => openPostgres('schema')],
  ['pglite', () => openPglite()],
] as const)('schema on %s', (_kind, open) => {
  const database = useMigratedDatabase(open);
  let db: Db;
  beforeAll(() => {
    db = database.db;
  });

  it('round-trips a task with defaults, jsonb and bigint money', async () => {
    const task = only(
      await db
        .insert(tasks)
        .values(newTask({ estimatedCostMicros: 9_007_199_254 }))
        .returning(),
    );
    expect(task).toMatchObject({
      status: 'queued',
      currentStep: 0,
      costMicros: 0,
      estimatedCostMicros: 9_007_199_254,
      params: { maxTokens: 100, metadata: { run: 1 } },
      plan: ['model-a', 'model-b'],
      idempotencyKey: null,
    });
    expect(task.createdAt).toBeInstanceOf(Date);
    expect(typeof task.costMicros).toBe('number');

    const updated = await db.transaction(async (tx) =>
      tx.update(tasks).set({ status: 'succeeded', costMicros: 1234 }).where(eq(tasks.id, task.id)).returning(),
    );
    expect(updated[0]?.status).toBe('succeeded');
    expect(updated[0]?.costMicros).toBe(1234);
  });

  it('rejects an unknown status', async () => {
    const code = await rejectionCode(
      db.execute(sql`insert into tasks (api_key_id, prompt, params, plan, routing_reason, status)
        values ('k', 'p', '{"maxTokens":1}', '[]', 'r', 'bogus')`),
    );
    expect(code).toBe('23514');
  });

  it('rejects a second attempt row with the same (taskId, step, attempt)', async () => {
    const task = only(await db.insert(tasks).values(newTask()).returning());
    const attempt = {
      taskId: task.id,
      step: 0,
      attempt: 1,
      model: 'model-a',
      provider: 'anthropic',
      outcome: 'succeeded' as const,
      latencyMs: 12,
      startedAt: new Date(),
    };
    await db.insert(attempts).values(attempt);
    expect(await rejectionCode(db.insert(attempts).values(attempt))).toBe('23505');
    // A later attempt of the same step, and the same number on the next step, are distinct.
    await db.insert(attempts).values([
      { ...attempt, attempt: 2 },
      { ...attempt, step: 1 },
    ]);
    // Deleting the task takes its attempts with it.
    await db.delete(tasks).where(eq(tasks.id, task.id));
    const left = await db.select().from(attempts).where(eq(attempts.taskId, task.id));
    expect(left).toEqual([]);
  });

  it('makes idempotency keys unique per API key only', async () => {
    await db.insert(tasks).values(newTask({ apiKeyId: 'key-1', idempotencyKey: 'same' }));
    await db.insert(tasks).values(newTask({ apiKeyId: 'key-2', idempotencyKey: 'same' }));
    expect(await rejectionCode(db.insert(tasks).values(newTask({ apiKeyId: 'key-1', idempotencyKey: 'same' })))).toBe(
      '23505',
    );
    // ON CONFLICT DO NOTHING (no target, as insertTask writes it) is how a submit returns the first task; naming the
    // two columns needs the partial index's predicate too.
    const insert = () => db.insert(tasks).values(newTask({ apiKeyId: 'key-1', idempotencyKey: 'same' }));
    expect(await insert().onConflictDoNothing().returning()).toEqual([]);
    const targeted = insert().onConflictDoNothing({
      target: [tasks.apiKeyId, tasks.idempotencyKey],
      where: sql`${tasks.idempotencyKey} is not null`,
    });
    expect(await targeted.returning()).toEqual([]);
    // Tasks without a key never collide.
    await db.insert(tasks).values([newTask({ apiKeyId: 'key-1' }), newTask({ apiKeyId: 'key-1' })]);
  });
});
