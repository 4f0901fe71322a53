import { silentLogger } from '@orchex/core';
import { createRedis, ModelQueues, queueName, stepJobId, sweepOrphansOnce } from '@orchex/queue';
import { startWorkers } from '@orchex/worker/start';
import { UnrecoverableError, Worker } from 'bullmq';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type TestSystem } from '../../../test/support/start-system.ts';
import { submit, waitFor } from '../../../test/support/task-client.ts';

/** Runs one job of `model`'s queue through `processor` (a stand-in for a worker with a bug), then stops. */
async function handleOneJob(sys: TestSystem, model: string, processor: () => Promise<unknown>): Promise<void> {
  let done!: () => void;
  const handled = new Promise<void>((r) => {
    done = r;
  });
  const w = new Worker(queueName(model), processor, {
    connection: createRedis(sys.redisUrl),
    prefix: sys.prefix,
    concurrency: 1,
  });
  w.on('completed', () => done());
  w.on('failed', () => done());
  await handled;
  await w.close();
}

describe('orphan sweep', () => {
  let sys: TestSystem;
  let queues: ModelQueues;
  beforeAll(async () => {
    sys = await startSystem('orphan_sweep', { workers: false });
    queues = new ModelQueues(sys.config, createRedis(sys.redisUrl), sys.prefix);
  });
  afterAll(async () => {
    await queues?.close();
    queues?.connection.disconnect();
    await sys?.close();
  });
  const age = (ids: string[]) =>
    sys.database.db.execute(
      sql`update tasks set created_at = created_at - interval '5 minutes' where id::text in ${ids}`,
    );

  it('gives a fresh job to tasks whose job failed, completed without ending them, or vanished; leaves live jobs alone; attempt numbers continue', async () => {
    const failedJob = await submit(sys, { prompt: 'job failed by a bug', fallback_chain: ['claude-test'] });
    await handleOneJob(sys, 'claude-test', async () => {
      throw new UnrecoverableError('simulated bug');
    });
    const completedJob = await submit(sys, {
      prompt: 'job completed without ending the task',
      fallback_chain: ['gpt-test'],
    });
    await handleOneJob(sys, 'gpt-test', async () => 'nothing written');
    const lostJob = await submit(sys, { prompt: 'job lost by Redis', fallback_chain: ['gemini-test'] });
    await (await queues.get('gemini-test').getJob(stepJobId(lostJob, 0)))?.remove();
    const liveJob = await submit(sys, { prompt: 'job still waiting', fallback_chain: ['llama-test'] });
    // Two attempts of the failed task's step were made before its job failed.
    await sys.database.db.execute(sql`
      insert into attempts (task_id, step, attempt, model, provider, outcome, error_kind, latency_ms, started_at)
      values (${failedJob}::uuid, 0, 1, 'claude-test', 'anthropic', 'failed', 'server', 5, now()),
             (${failedJob}::uuid, 0, 2, 'claude-test', 'anthropic', 'failed', 'server', 5, now())`);
    await age([failedJob, completedJob, lostJob, liveJob]);
    expect(await queues.get('claude-test').getJobState(stepJobId(failedJob, 0))).toBe('failed');
    expect(await queues.get('gpt-test').getJobState(stepJobId(completedJob, 0))).toBe('completed');

    const first = await sweepOrphansOnce(sys.database.db, queues, silentLogger);
    expect(first).toMatchObject({ readded: 3, checked: 4, next: undefined });
    expect(await queues.get('llama-test').getJobState(stepJobId(liveJob, 0))).toBe('waiting');
    // The fresh jobs wait under the same (deterministic) ids, so sweeping again adds nothing.
    expect((await sweepOrphansOnce(sys.database.db, queues, silentLogger)).readded).toBe(0);

    const pool = await startWorkers({
      config: sys.config,
      db: sys.database.db,
      redisUrl: sys.redisUrl,
      prefix: sys.prefix,
      logger: silentLogger,
      providerEnv: { ...process.env, ...sys.env },
    });
    try {
      const ended = await Promise.all([failedJob, completedJob, lostJob, liveJob].map((id) => waitFor(sys, id)));
      expect(ended.map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
      // The re-added job numbered its attempt after the two already recorded: nothing was dropped as a duplicate.
      expect(ended[0]!.attempts.map((a) => [a.attempt, a.outcome])).toEqual([
        [1, 'failed'],
        [2, 'failed'],
        [3, 'succeeded'],
      ]);
    } finally {
      await pool.close(5000);
    }
  });

  it('looks at every task in progress, oldest first, in pages, continuing where the previous run stopped', async () => {
    const q = queues.get('claude-test');
    await q.pause();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(await submit(sys, { prompt: `backlog ${i}`, fallback_chain: ['claude-test'] }));
    await age(ids);
    const seen: string[] = [];
    let after: { createdAt: string; id: string } | undefined;
    for (let run = 0; run < 3; run++) {
      const r = await sweepOrphansOnce(sys.database.db, queues, silentLogger, { pageSize: 2, maxTasks: 2, after });
      expect(r.readded).toBe(0); // all five jobs are waiting: live
      if (r.next) seen.push(r.next.id);
      after = r.next;
    }
    // Runs of two: the 2nd and 4th oldest are where the first two runs stopped; the third reached the newest.
    expect(seen).toEqual([ids[1], ids[3]]);
    expect(after).toBeUndefined();
    await q.obliterate({ force: true });
    await q.resume();
    expect((await sweepOrphansOnce(sys.database.db, queues, silentLogger)).readded).toBe(5);
  });
});
