import { createLogger, loadConfig, parseEnv } from '@orchex/core';
import { databaseFromEnv } from '@orchex/db';
import { startWorkers } from '@orchex/queue';
import { parseWorkerArgs } from './parse-worker-args.ts';

/** `npm run start:worker -- [--queues a,b] [--concurrency N]`: one worker process; start more to scale. */
const logger = createLogger('orchex-worker');
try {
  const args = parseWorkerArgs(process.argv.slice(2));
  const env = parseEnv();
  const config = loadConfig();
  const database = await databaseFromEnv(process.env);
  const pool = await startWorkers({
    config,
    db: database.db,
    redisUrl: env.REDIS_URL,
    prefix: env.ORCHEX_PREFIX,
    queues: args.queues,
    concurrency: args.concurrency,
    logger,
    ...(env.ORCHEX_LOCK_MS ? { lockDurationMs: env.ORCHEX_LOCK_MS } : {}),
    ...(env.ORCHEX_LIMIT_WINDOW_MS ? { limitWindowMs: env.ORCHEX_LIMIT_WINDOW_MS } : {}),
    ...(env.ORCHEX_BACKOFF_BASE_MS ? { backoffBaseMs: env.ORCHEX_BACKOFF_BASE_MS } : {}),
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceSeconds: args.graceSeconds }, 'draining');
    await pool.close(args.graceSeconds * 1000);
    await database.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
} catch (err) {
  logger.error({ err: (err as Error).message }, 'worker failed to start');
  process.exit(1);
}
