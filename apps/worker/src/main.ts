import { createLogger, loadConfig, parseEnv } from '@orchex/core';
import { createDatabase } from '@orchex/db';
import { startTracing } from '@orchex/queue';
import { parseWorkerArgs } from './parse-worker-args.ts';
import { startWorkers, workerOptionsFromEnv } from './start-workers.ts';
import { startWorkerHttp, type WorkerHttp } from './worker-http.ts';

/**
 * `npm run start:worker -- [--queues a,b] [--concurrency N] [--metrics-port P]`: one worker process; start more to
 * scale.
 */
let logger = createLogger('orchex-worker');
try {
  const args = parseWorkerArgs(process.argv.slice(2));
  // The environment is read here, once; everything below gets its part of the parsed result.
  const env = parseEnv();
  logger = createLogger('orchex-worker', env.logLevel);
  const { endpoint, serviceName } = env.tracing;
  // First, so every span of this process goes to the collector (off when OTEL_EXPORTER_OTLP_ENDPOINT is unset).
  const tracing = endpoint ? startTracing({ endpoint, serviceName: serviceName ?? 'orchex-worker' }) : undefined;
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
  let http: WorkerHttp | undefined;
  if (args.metricsPort !== undefined) {
    http = await startWorkerHttp({
      port: args.metricsPort,
      host: args.metricsHost,
      registry: pool.registry,
      ready: pool.ready,
      tokens: [env.metricsToken, env.api.adminKey],
    });
    logger.info({ port: http.port }, 'metrics listening');
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceSeconds: args.graceSeconds }, 'draining');
    // The listener stays up while draining: /healthz says 503, so a load balancer or probe sees the drain.
    await pool.close(args.graceSeconds * 1000);
    await http?.close();
    await database.close();
    await tracing?.shutdown();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
} catch (err) {
  logger.error({ err: (err as Error).message }, 'worker failed to start');
  process.exit(1);
}
