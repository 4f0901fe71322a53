import { createLogger, loadConfig, parseEnv } from '@orchex/core';
import { createDatabase } from '@orchex/db';
import { startTracing } from '@orchex/queue';
import { apiOptionsFromEnv, startApi } from './start-api.ts';

/** `npm run start:api`: the producer API alone (start workers with `npm run start:worker`). */
let logger = createLogger('orchex-api');
try {
  // The environment is read here, once; everything below gets its part of the parsed result.
  const env = parseEnv();
  logger = createLogger('orchex-api', env.logLevel);
  const { endpoint, serviceName } = env.tracing;
  // First, so every span of this process goes to the collector (off when OTEL_EXPORTER_OTLP_ENDPOINT is unset).
  const tracing = endpoint ? startTracing({ endpoint, serviceName: serviceName ?? 'orchex-api' }) : undefined;
  const config = loadConfig(env.configPath);
  const database = await createDatabase(env.database);
  const api = await startApi(apiOptionsFromEnv(env, config, database.db, logger));
  const stop = async () => {
    await api.close();
    await database.close();
    await tracing?.shutdown();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (err) {
  logger.error({ err: (err as Error).message }, 'api failed to start');
  process.exit(1);
}
