import type { Logger } from '@orchex/core';
import { type Db, findOrphanCandidates } from '@orchex/db';
import type { Redis } from 'ioredis';
import type { ModelQueues } from './model-queues.ts';

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
  if (candidates.length)
    logger.info({ tasks: candidates.length }, 'orphan sweep re-added jobs (existing ones untouched)');
  return candidates.length;
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
