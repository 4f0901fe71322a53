import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Logger, OrchexConfig, OrchexEnv } from '@orchex/core';
import type { Db } from '@orchex/db';
import { createRedis, keyBudgetsFromConfig, ModelQueues, TaskStreams, taskFinishedChannel } from '@orchex/queue';
import { createApp } from './create-app.ts';
import { loadKeyId } from './key-id-secret.ts';
import { TaskWaiter } from './task-waiter.ts';

export interface ApiOptions {
  config: OrchexConfig;
  db: Db;
  redisUrl: string;
  prefix: string;
  logger: Logger;
  apiKeys: string[];
  adminKey: string | undefined;
  /** ORCHEX_KEY_SECRET; unset → a secret generated once and kept in Postgres. */
  keySecret?: string | undefined;
  /** 0 = any free port. */
  port: number;
  host?: string;
  bodyLimit?: string;
  debugRouting?: boolean;
}

/** ApiOptions from the parsed environment (what `npm run start:api` and `npm start` share). */
export function apiOptionsFromEnv(env: OrchexEnv, config: OrchexConfig, db: Db, logger: Logger): ApiOptions {
  return { config, db, logger, redisUrl: env.redisUrl, prefix: env.prefix, ...env.api };
}

export interface RunningApi {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts the HTTP API with its own Redis connections (one for commands, one subscriber for task events). */
export async function startApi(opts: ApiOptions): Promise<RunningApi> {
  const redis = createRedis(opts.redisUrl, 'orchex-api', { failFast: true });
  // Commands fail fast while Redis is away (a 503 rather than a hung request), so give the first connection a moment
  // to open: requests arriving right after start would otherwise meet "not connected" for no reason. If Redis is
  // down, the API still starts and answers 503 until it returns.
  await Promise.race([once(redis, 'ready'), new Promise((r) => setTimeout(r, 5000).unref())]);
  const queues = new ModelQueues(opts.config, redis, opts.prefix);
  const waiter = new TaskWaiter(createRedis(opts.redisUrl, 'orchex-api-events'), taskFinishedChannel(opts.prefix));
  const budget = keyBudgetsFromConfig(redis, opts.config, opts.db, opts.prefix);
  const keyId = await loadKeyId(opts.db, opts.keySecret);
  const streams = new TaskStreams(redis, opts.prefix);
  const app = createApp({ ...opts, redis, queues, waiter, budget, keyId, streams });
  const server = app.listen(opts.port, opts.host ?? '0.0.0.0');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  opts.logger.info({ port }, 'api listening');
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await waiter.close();
      await queues.close();
      redis.disconnect();
    },
  };
}
// How stored rows name an API key, for tests and benchmarks that seed rows for one.
export { loadKeyId } from './key-id-secret.ts';
