import { createLogger, loadConfig, parseEnv } from '@orchex/core';
import { databaseFromEnv } from '@orchex/db';
import { apiOptionsFromEnv, startApi } from './start-api.ts';

/** `npm run start:api`: the producer API alone (start workers with `npm run start:worker`). */
const logger = createLogger('orchex-api');
try {
  const env = parseEnv();
  const config = loadConfig();
  const database = await databaseFromEnv(process.env);
  const api = await startApi(apiOptionsFromEnv(env, config, database.db, logger));
  const stop = async () => {
    await api.close();
    await database.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (err) {
  logger.error({ err: (err as Error).message }, 'api failed to start');
  process.exit(1);
}
