import { createLogger, loadConfig, parseEnv } from '@orchex/core';
import { createDatabase } from '@orchex/db';
import { apiOptionsFromEnv, startApi } from './start-api.ts';

/** `npm run start:api`: the producer API alone (start workers with `npm run start:worker`). */
let logger = createLogger('orchex-api');
try {
  // The environment is read here, once; everything below gets its part of the parsed result.
  const env = parseEnv();
  logger = createLogger('orchex-api', env.logLevel);
  const config = loadConfig(env.configPath);
  const database = await createDatabase(env.database);
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
