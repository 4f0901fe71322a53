import { apiOptionsFromEnv, startApi } from '@orchex/api/start';
import { createLogger, loadConfig, parseEnv } from '@orchex/core';
import { createDatabase, runMigrations } from '@orchex/db';
import { startWorkers, workerOptionsFromEnv } from '@orchex/worker/start';

/**
 * The API and one worker in ONE process. One process is required with the embedded PGlite database, which a
 * single process owns; with DATABASE_URL you can instead run `npm run start:api` and any number of
 * `npm run start:worker`. Resolves once both are up; stops both on SIGTERM/SIGINT.
 */
export async function runOrchex(opts: { migrate: boolean; name?: string }): Promise<{ url: string }> {
  const name = opts.name ?? 'orchex';
  let logger = createLogger(name);
  try {
    const env = parseEnv();
    logger = createLogger(name, env.logLevel);
    const config = loadConfig(env.configPath);
    const database = await createDatabase(env.database);
    if (opts.migrate) await runMigrations(database);
    const pool = await startWorkers({ ...workerOptionsFromEnv(env), config, db: database.db, logger });
    const api = await startApi(apiOptionsFromEnv(env, config, database.db, logger));
    if (env.api.apiKeys.length === 0) logger.warn({}, 'ORCHEX_API_KEYS is empty: every /v1 request will get 401');
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
