import { describe, expect, it } from 'vitest';
import { createStepWriter } from '../src/step-writer.ts';
import { createTaskReader } from '../src/task-reader.ts';
import { insertTask } from '../src/task-store.ts';
import { openPostgres, useMigratedDatabase } from './open-test-databases.ts';

describe('task reader', () => {
  const database = useMigratedDatabase(() => openPostgres('task_reader'));
  const newTask = async () =>
    (
      await insertTask(database.db, {
        apiKeyId: 'k',
        prompt: 'p',
        params: { maxTokens: 10 },
        plan: ['m'],
        routingReason: 'r',
      })
    ).task;

  it('loads of one turn share a read; attempts come with each load that asks for them, in order', async () => {
    const [a, b] = [await newTask(), await newTask()];
    const w = createStepWriter(database.db);
    for (const n of [1, 2]) {
      await w.recordAttempt({
        taskId: a.id,
        step: 0,
        attempt: n,
        model: 'm',
        provider: 'openai',
        outcome: 'failed',
        errorKind: 'server',
        costMicros: 0,
        latencyMs: 1,
        startedAt: new Date(Date.now() + n),
      });
    }
    await w.close();
    const reader = createTaskReader(database.db);
    // One turn: `a` with its attempts, `b` declared fresh (a first delivery).
    const [withA, fresh] = await Promise.all([reader.load(a.id), reader.load(b.id, false)]);
    expect(withA?.attempts.map((x) => x.attempt)).toEqual([1, 2]);
    expect(fresh).toMatchObject({ id: b.id, attempts: [] });
    // A turn in which no load asks for attempts reads none, even for a task that has some.
    expect((await reader.load(a.id, false))?.attempts).toEqual([]);
    expect(await reader.load('00000000-0000-4000-8000-000000000000')).toBeNull();
  });
});
