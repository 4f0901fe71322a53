import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Logger, OrchexConfig, OrchexEnv } from '@orchex/core';
import type { Db } from '@orchex/db';
import {
  createRedis,
  keyBudgetsFromConfig,
  ModelLimiter,
  ModelLimitStates,
  ModelQueues,
  type RedisClusterSetting,
  replicaAcks,
  SignalReader,
  TaskStreams,
  taskFinishedChannel,
} from '@orchex/queue';
import type { Registry } from 'prom-client';
import { createApp } from './create-app.ts';
import { loadKeyId } from './key-id-secret.ts';
import { RequestPlanner } from './request-planner.ts';
import { TaskWaiter } from './task-waiter.ts';

/** What startApi needs: the config, the database, where Redis is, who may call, and where to listen. */
export interface ApiOptions {
  config: OrchexConfig;
  db: Db;
  redisUrl: string;
  /** ORCHEX_REDIS_CLUSTER: Redis Cluster seed nodes (credentials from redisUrl). Default: one Redis at redisUrl. */
  redisCluster?: RedisClusterSetting | undefined;
  /** ORCHEX_REDIS_REPLICA_ACKS: replicas each budget write waits for, so a failover loses none. Default 0. */
  redisReplicaAcks?: number;
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
  /**
   * Start a planner thread with the API rather than at the first large body, which would otherwise wait 1–4 s for
   * the thread to load. Default false (tests and benchmarks start many APIs); the processes `npm start` and
   * `npm run start:api` run set it.
   */
  warmPlanner?: boolean;
  /** ORCHEX_METRICS_TOKEN: opens GET /metrics (and nothing else). */
  metricsToken?: string | undefined;
  /** Registry GET /metrics serves: pass the in-process workers' one (`npm start`) so their metrics show too. */
  metricsRegistry?: Registry | undefined;
  /** The workers' rpm/tpm window (ORCHEX_LIMIT_WINDOW_MS), so the limit state shown counts the same span. Default 60000. */
  limitWindowMs?: number | undefined;
}

/** ApiOptions from the parsed environment (what `npm run start:api` and `npm start` share). */
export function apiOptionsFromEnv(env: OrchexEnv, config: OrchexConfig, db: Db, logger: Logger): ApiOptions {
  return {
    config,
    db,
    logger,
    redisUrl: env.redisUrl,
    redisCluster: env.redisCluster,
    redisReplicaAcks: env.redisReplicaAcks,
    prefix: env.prefix,
    ...env.api,
    warmPlanner: true,
    metricsToken: env.metricsToken,
    limitWindowMs: env.worker.limitWindowMs,
  };
}

/** A started API: its address and how to stop it. */
export interface RunningApi {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** How long startApi waits for its Redis connection before listening anyway. */
const REDIS_READY_WAIT_MS = 5000;

/** Starts the HTTP API with its own Redis connections (one for commands, one subscriber for task events). */
export async function startApi(opts: ApiOptions): Promise<RunningApi> {
  const redis = createRedis(opts.redisUrl, 'orchex-api', { failFast: true, cluster: opts.redisCluster });
  // Commands fail at once while this connection is not up (failFast): wait for it briefly, so the API does not answer
  // 503 for its first milliseconds; if Redis is down it starts anyway and answers 503 until Redis is back.
  if (redis.status !== 'ready') {
    // Not events.once: it rejects on the 'error' a down Redis emits, and a down Redis must not stop the API.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, REDIS_READY_WAIT_MS).unref();
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  const queues = new ModelQueues(opts.config, redis, opts.prefix);
  const waiter = new TaskWaiter(
    createRedis(opts.redisUrl, 'orchex-api-events', { cluster: opts.redisCluster }),
    taskFinishedChannel(opts.prefix),
  );
  const budget = keyBudgetsFromConfig(redis, opts.config, opts.db, opts.prefix, replicaAcks(opts.redisReplicaAcks));
  const keyId = await loadKeyId(opts.db, opts.keySecret);
  const streams = new TaskStreams(redis, opts.prefix);
  const signals = new SignalReader(redis, opts.prefix, Object.keys(opts.config.models), opts.config.routing);
  const planner = new RequestPlanner(opts.config, { signals });
  if (opts.warmPlanner) planner.warm();
  const limiter = new ModelLimiter(redis, {
    prefix: opts.prefix,
    ...(opts.limitWindowMs ? { windowMs: opts.limitWindowMs } : {}),
  });
  const limitStates = new ModelLimitStates(opts.config, queues, limiter);
  const app = createApp({ ...opts, redis, queues, waiter, budget, keyId, streams, planner, signals, limitStates });
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
      await planner.close();
      await waiter.close();
      await queues.close();
      redis.disconnect();
    },
  };
}
// How stored rows name an API key, for tests and benchmarks that seed rows for one.
export { loadKeyId } from './key-id-secret.ts';
