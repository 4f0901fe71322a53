import { apiOptionsFromEnv, startApi } from '@orchex/api/start';
import { createLogger, loadConfig, parseEnv } from '@orchex/core';
import { createDatabase, runMigrations } from '@orchex/db';
import { startTracing } from '@orchex/queue';
import { startWorkers, workerOptionsFromEnv } from '@orchex/worker/start';
import { type EmbeddedRedis, ensureEmbeddedRedis } from './embedded-redis/ensure-embedded-redis.ts';

/**
 * The API and one worker in ONE process. One process is required with the embedded PGlite database, which a
 * single process owns; with DATABASE_URL you can instead run `npm run start:api` and any number of
 * `npm run start:worker`. With REDIS_URL unset it uses the Redis on 127.0.0.1:ORCHEX_REDIS_PORT, or starts its own
 * there for as long as it runs. Resolves once both are up; stops everything on SIGTERM/SIGINT.
 */
export async function runOrchex(opts: { migrate: boolean; name?: string }): Promise<{ url: string }> {
  const name = opts.name ?? 'orchex';
  let logger = createLogger(name);
  try {
    let env = parseEnv();
    logger = createLogger(name, env.logLevel);
    const { endpoint, serviceName } = env.tracing;
    const tracing = endpoint ? startTracing({ endpoint, serviceName: serviceName ?? name }) : undefined;
    const config = loadConfig(env.configPath);
    let redis: EmbeddedRedis | undefined;
    if (env.embeddedRedis) {
      redis = await ensureEmbeddedRedis({ ...env.embeddedRedis, log: logger });
      env = { ...env, redisUrl: redis.url };
    }
    const database = await createDatabase(env.database);
    if (opts.migrate) await runMigrations(database);
    const pool = await startWorkers({ ...workerOptionsFromEnv(env), config, db: database.db, logger });
    // One process: the API's /metrics serves the workers' registry too, with the API's metrics added to it.
    const api = await startApi({
      ...apiOptionsFromEnv(env, config, database.db, logger),
      metricsRegistry: pool.registry,
    });
    if (env.api.apiKeys.length === 0) logger.warn({}, 'ORCHEX_API_KEYS is empty: every /v1 request will get 401');
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      await api.close();
      await pool.close(30_000);
      await database.close();
      await tracing?.shutdown();
      // Last: draining workers still write to Redis.
      await redis?.stop();
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop());
    process.on('SIGINT', () => void stop());
    logger.info({ url: api.url }, 'orchex ready');
    return { url: api.url };
  } catch (err) {
    // The embedded Redis, if one was started, gets SIGTERM from its exit hook.
    logger.error({ err: (err as Error).message }, 'orchex failed to start');
    process.exit(1);
  }
}
