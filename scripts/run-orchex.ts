import { createLogger, loadConfig, parseEnv } from '@orchex/core';
import { databaseFromEnv, runMigrations } from '@orchex/db';
import { startWorkers, workerOptionsFromEnv } from '@orchex/queue';
import { apiOptionsFromEnv, startApi } from '../apps/api/src/start-api.ts';

/**
 * The API and one worker in ONE process. One process is required with the embedded PGlite database, which a
 * single process owns; with DATABASE_URL you can instead run `npm run start:api` and any number of
 * `npm run start:worker`. Resolves once both are up; stops both on SIGTERM/SIGINT.
 */
export async function runOrchex(opts: { migrate: boolean; name?: string }): Promise<{ url: string }> {
  const logger = createLogger(opts.name ?? 'orchex');
  try {
    const env = parseEnv();
    const config = loadConfig();
    const database = await databaseFromEnv(process.env);
    if (opts.migrate) await runMigrations(database);
    const pool = await startWorkers({ ...workerOptionsFromEnv(env), config, db: database.db, logger });
    const api = await startApi(apiOptionsFromEnv(env, config, database.db, logger));
    if (env.ORCHEX_API_KEYS.length === 0) logger.warn({}, 'ORCHEX_API_KEYS is empty: every /v1 request will get 401');
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      await api.close();
      await pool.close(30_000);
      await database.close();
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop());
    process.on('SIGINT', () => void stop());
    logger.info({ url: api.url }, 'orchex ready');
    return { url: api.url };
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'orchex failed to start');
    process.exit(1);
  }
}
