import { isTerminal, type Logger } from '@orchex/core';
import { type Db, findOrphanCandidates, findParts, findRunningSplitParents } from '@orchex/db';
import type { Redis } from 'ioredis';
import type { ModelQueues } from './model-queues.ts';
import { stepJobId } from './queue-name.ts';

/**
 * Re-adds the job of every task that Postgres says is in progress but that may have no job: an API that died
 * between insert and enqueue, or a Redis that lost data (restart without persistence, failover). Adding is
 * idempotent — a job that still exists under its deterministic id is left as it is — and a step that runs twice is
 * harmless (see executeStep), so sweeping too much costs nothing but a few Redis calls.
 * Returns how many tasks were looked at.
 */
export async function sweepOrphans(
  db: Db,
  queues: ModelQueues,
  logger: Logger,
  opts: { queuedForS?: number; runningForS?: number } = {},
): Promise<number> {
  const candidates = await findOrphanCandidates(db, opts.queuedForS ?? 60, opts.runningForS ?? 3900);
  for (const t of candidates) {
    const model = t.plan[t.currentStep];
    if (!model || !queues.config.models[model]) continue;
    await queues.enqueueStep(t.id, t.currentStep, model);
  }
  const flows = await sweepSplitTasks(db, queues, opts.queuedForS ?? 60);
  if (candidates.length || flows)
    logger.info({ tasks: candidates.length, flows }, 'orphan sweep re-added jobs (existing ones untouched)');
  return candidates.length + flows;
}

/**
 * A split task's flow is added in one atomic step, so it is either all in Redis or not at all. When the reduce
 * job is gone (the API died before adding the flow, or Redis lost it) the flow is added again with the map parts
 * that have not finished; the reduce reads every part's answer from Postgres anyway. Returns the flows re-added.
 */
async function sweepSplitTasks(db: Db, queues: ModelQueues, forS: number): Promise<number> {
  let readded = 0;
  for (const parent of await findRunningSplitParents(db, forS)) {
    const model = parent.plan[0];
    if (!model || !queues.config.models[model]) continue;
    const parts = await findParts(db, parent.id);
    const reduce = parts.find((p) => p.partKind === 'reduce');
    if (reduce?.status !== 'queued') continue;
    if (await queues.get(model).getJob(stepJobId(reduce.id, 0))) continue;
    const open = parts.filter((p) => p.partKind === 'map' && !isTerminal(p.status));
    // A part re-routed before the loss resumes at its current step, on that step's model.
    const children = open.map((p) => ({
      taskId: p.id,
      step: p.currentStep,
      model: parent.plan[p.currentStep] ?? model,
    }));
    await queues.enqueueFlow({ taskId: reduce.id, model }, children);
    readded++;
  }
  return readded;
}

/**
 * Runs sweepOrphans every `everyMs` in one worker at a time (a Redis lock), so N workers do not sweep N times.
 * Returns a stop function.
 */
export function scheduleOrphanSweep(
  db: Db,
  queues: ModelQueues,
  redis: Redis,
  prefix: string,
  logger: Logger,
  everyMs = 30_000,
): () => void {
  const lockKey = `${prefix}:sweep-lock`;
  const timer = setInterval(async () => {
    try {
      if ((await redis.set(lockKey, String(process.pid), 'PX', everyMs, 'NX')) !== 'OK') return;
      await sweepOrphans(db, queues, logger);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'orphan sweep failed; will retry');
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
