import { createLogger, loadConfig, parseEnv } from '@orchex/core';
import { databaseFromEnv } from '@orchex/db';
import { startWorkers, workerOptionsFromEnv } from '@orchex/queue';
import { parseWorkerArgs } from './parse-worker-args.ts';

/** `npm run start:worker -- [--queues a,b] [--concurrency N]`: one worker process; start more to scale. */
const logger = createLogger('orchex-worker');
try {
  const args = parseWorkerArgs(process.argv.slice(2));
  const env = parseEnv();
  const config = loadConfig();
  const database = await databaseFromEnv(process.env);
  const pool = await startWorkers({
    ...workerOptionsFromEnv(env),
    config,
    db: database.db,
    queues: args.queues,
    concurrency: args.concurrency,
    logger,
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
