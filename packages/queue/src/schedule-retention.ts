import { type Logger, safeErrorText } from '@orchex/core';
import { applyRetention, type Db } from '@orchex/db';
import type { RedisClient } from './limits/lua-command.ts';

/** Options of {@link scheduleRetention}. */
export interface RetentionSchedule {
  /** ORCHEX_RETENTION_DAYS: finished tasks older than this many days are emptied. */
  days: number;
  /** How often a run starts (one worker at a time). Default one hour. */
  everyMs?: number;
  /** Tasks per batch. Default 500. */
  batchSize?: number;
}

/**
 * Runs retention (packages/db/src/retention.ts) every `everyMs` in one worker at a time — a Redis lock, like the
 * orphan sweep — in bounded batches, the first run a minute after start so a fleet starting together does not
 * begin with it. Returns a stop function.
 */
export function scheduleRetention(
  db: Db,
  redis: RedisClient,
  prefix: string,
  logger: Logger,
  opts: RetentionSchedule,
): () => void {
  const everyMs = opts.everyMs ?? 3600_000;
  const lockKey = `${prefix}:retention-lock`;
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      if ((await redis.set(lockKey, String(process.pid), 'PX', everyMs, 'NX')) !== 'OK') return;
      const before = new Date(Date.now() - opts.days * 86_400_000);
      const done = await applyRetention(db, { before, ...(opts.batchSize ? { batchSize: opts.batchSize } : {}) });
      if (done.tasks) logger.info({ ...done, before: before.toISOString() }, 'retention emptied finished tasks');
    } catch (err) {
      logger.warn({ err: safeErrorText(err) }, 'retention run failed; will retry');
    } finally {
      running = false;
    }
  };
  const first = setTimeout(() => void run(), Math.min(60_000, everyMs));
  const timer = setInterval(() => void run(), everyMs);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
