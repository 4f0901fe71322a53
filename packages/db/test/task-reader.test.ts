import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createStepWriter } from '../src/step-writer.ts';
import { createTaskReader } from '../src/task-reader.ts';
import { insertTask } from '../src/task-store.ts';
import { openPostgres, useMigratedDatabase } from './open-test-databases.ts';

describe('task reader', () => {
  const database = useMigratedDatabase(() => openPostgres('task_reader'));
  const newTask = async (plan = ['m']) =>
    (
      await insertTask(database.db, {
        apiKeyId: 'k',
        prompt: 'p',
        params: { maxTokens: 10 },
        plan,
        routingReason: 'r',
      })
    ).task;
  /** Attempts 1…n of step 0, failed, in that order. */
  const failedAttempts = async (taskId: string, n: number) => {
    const w = createStepWriter(database.db);
    for (let i = 1; i <= n; i++) {
      await w.recordAttempt({
        taskId,
        step: 0,
        attempt: i,
        model: 'm',
        provider: 'openai',
        outcome: 'failed',
        errorKind: 'server',
        costMicros: 0,
        latencyMs: 1,
        startedAt: new Date(Date.now() + i),
      });
    }
    await w.close();
  };
  const statusOf = async (id: string) =>
    (
      await database.db.execute<{ status: string; step: number; started: boolean }>(
        sql`select status, current_step as step, started_at is not null as started from tasks where id = ${id}::uuid`,
      )
    ).rows[0];

  it('loads of one turn share a read; attempts come with each load that asks for them, in order', async () => {
    const [a, b] = [await newTask(), await newTask()];
    await failedAttempts(a.id, 2);
    const reader = createTaskReader(database.db);
    // One turn: `a` with its attempts, `b` declared fresh (a first delivery).
    const [withA, fresh] = await Promise.all([reader.load(a.id), reader.load(b.id, false)]);
    expect(withA?.attempts.map((x) => x.attempt)).toEqual([1, 2]);
    expect(fresh).toMatchObject({ id: b.id, attempts: [] });
    // A turn in which no load asks for attempts reads none, even for a task that has some.
    expect((await reader.load(a.id, false))?.attempts).toEqual([]);
    expect(await reader.load('00000000-0000-4000-8000-000000000000')).toBeNull();
  });

  it('a claim reads the task and marks it running at its step; the claims of one turn are answered each', async () => {
    const [a, b] = [await newTask(['m', 'n']), await newTask(['m', 'n'])];
    const reader = createTaskReader(database.db);
    const [ca, cb] = await Promise.all([reader.claim(a.id, 0, 'm', false), reader.claim(b.id, 1, 'n', false)]);
    expect(ca).toMatchObject({ id: a.id, status: 'running', currentStep: 0, attempts: [] });
    expect(cb).toMatchObject({ id: b.id, status: 'running', currentStep: 1, attempts: [] });
    expect(ca?.startedAt).toBeInstanceOf(Date);
    expect(await statusOf(a.id)).toEqual({ status: 'running', step: 0, started: true });
    expect(await statusOf(b.id)).toEqual({ status: 'running', step: 1, started: true });
    // Claimed again (a re-delivery while it runs): still claimable at its step, and no longer at an earlier one.
    expect(await reader.claim(b.id, 1, 'n')).toMatchObject({ id: b.id, currentStep: 1 });
    expect(await reader.claim(b.id, 0, 'm')).toBeNull();
  });

  it('does not claim a terminal task, one past the step, or a step its plan gives another model; nothing changes', async () => {
    const [done, past, other] = [await newTask(), await newTask(['m', 'n']), await newTask(['m', 'n'])];
    await database.db.execute(sql`update tasks set status = 'cancelled' where id = ${done.id}::uuid`);
    await database.db.execute(sql`update tasks set current_step = 1 where id = ${past.id}::uuid`);
    const reader = createTaskReader(database.db);
    expect(
      await Promise.all([
        reader.claim(done.id, 0, 'm'),
        reader.claim(past.id, 0, 'm'),
        reader.claim(other.id, 1, 'm'),
        reader.claim('00000000-0000-4000-8000-000000000000', 0, 'm'),
      ]),
    ).toEqual([null, null, null, null]);
    expect(await statusOf(done.id)).toEqual({ status: 'cancelled', step: 0, started: false });
    expect(await statusOf(past.id)).toEqual({ status: 'queued', step: 1, started: false });
    expect(await statusOf(other.id)).toEqual({ status: 'queued', step: 0, started: false });
  });

  it('two steps of one task claimed in one turn: exactly one is claimed, at the step the row now has', async () => {
    const t = await newTask(['m', 'n']);
    const reader = createTaskReader(database.db);
    const [s0, s1] = await Promise.all([reader.claim(t.id, 0, 'm'), reader.claim(t.id, 1, 'n')]);
    expect([s0, s1].filter((x) => x !== null)).toHaveLength(1);
    const won = (s0 ?? s1)?.currentStep;
    expect(await statusOf(t.id)).toEqual({ status: 'running', step: won, started: true });
  });

  it('a claim that asks for attempts gets them, in order', async () => {
    const t = await newTask();
    await failedAttempts(t.id, 1);
    const reader = createTaskReader(database.db);
    expect((await reader.claim(t.id, 0, 'm'))?.attempts.map((a) => a.attempt)).toEqual([1]);
    expect((await reader.claim(t.id, 0, 'm', false))?.attempts).toEqual([]);
  });

  // The claim and the answer's write are PL/pgSQL functions (0009_step_functions.sql), which keep their plans per
  // connection. A migration that changes the tasks table while workers run must not break a connection whose plans
  // were cached before it: Postgres re-plans them, and the claim's row follows the table.
  it('claims and answers still work on connections whose plans predate a change of the tasks table', async () => {
    const reader = createTaskReader(database.db);
    const writer = createStepWriter(database.db);
    const run = async () => {
      const t = await newTask();
      const claimed = await reader.claim(t.id, 0, 'm', false);
      const answer = { model: 'm', resultText: 'ok', finishReason: 'stop', usage: null };
      const fresh = await writer.recordAttempt(
        {
          taskId: t.id,
          step: 0,
          attempt: 1,
          model: 'm',
          provider: 'openai',
          outcome: 'succeeded',
          costMicros: 7,
          latencyMs: 1,
          startedAt: new Date(),
        },
        answer,
      );
      return { claimed: claimed?.status, fresh, after: await statusOf(t.id) };
    };
    const done = { claimed: 'running', fresh: true, after: { status: 'succeeded', step: 0, started: true } };
    // Enough calls on every pooled connection for Postgres to settle on a cached (generic) plan.
    for (let i = 0; i < 3; i++)
      expect(await Promise.all(Array.from({ length: 12 }, run))).toEqual(Array(12).fill(done));
    await database.db.execute(sql`alter table tasks add column test_extra text default 'x'`);
    try {
      expect(await Promise.all(Array.from({ length: 12 }, run))).toEqual(Array(12).fill(done));
    } finally {
      await database.db.execute(sql`alter table tasks drop column test_extra`);
    }
    expect(await Promise.all(Array.from({ length: 12 }, run))).toEqual(Array(12).fill(done));
    await writer.close();
  });
});
