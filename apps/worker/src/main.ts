import { createLogger, loadConfig, parseEnv } from '@orchex/core';
import { createDatabase } from '@orchex/db';
import { startHealthServer } from './health-server.ts';
import { parseWorkerArgs } from './parse-worker-args.ts';
import { startWorkers, workerOptionsFromEnv } from './start-workers.ts';

/** `npm run start:worker -- [--queues a,b] [--concurrency N]`: one worker process; start more to scale. */
let logger = createLogger('orchex-worker');
try {
  const args = parseWorkerArgs(process.argv.slice(2));
  // The environment is read here, once; everything below gets its part of the parsed result.
  const env = parseEnv();
  logger = createLogger('orchex-worker', env.logLevel);
  const config = loadConfig(env.configPath);
  const database = await createDatabase(env.database);
  const pool = await startWorkers({
    ...workerOptionsFromEnv(env),
    config,
    db: database.db,
    queues: args.queues,
    concurrency: args.concurrency,
    logger,
  }).catch(async (err) => {
    await database.close();
    throw err;
  });
  let stopping = false;
  const health =
    args.metricsPort === undefined
      ? undefined
      : await startHealthServer(args.metricsPort, () => (stopping ? 'draining' : 'ok'));
  if (health) logger.info({ port: health.port }, 'health listener on /healthz');
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceSeconds: args.graceSeconds }, 'draining');
    await pool.close(args.graceSeconds * 1000);
    await health?.close();
    await database.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
} catch (err) {
  logger.error({ err: (err as Error).message }, 'worker failed to start');
  process.exit(1);
}
