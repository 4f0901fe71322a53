import { hostname } from 'node:os';
import { type Logger, type OrchexConfig, type OrchexEnv, withFields } from '@orchex/core';
import { createStepWriter, createTaskReader, type Db } from '@orchex/db';
import { createLanguageModels, type Env, loadPlugins } from '@orchex/providers';
import type { RedisClient, RedisClusterSetting } from '@orchex/queue';
import {
  createRedis,
  createStepMetrics,
  DEFAULT_PREFIX,
  executeStep,
  keyBudgetsFromConfig,
  logConnectionError,
  ModelLimiter,
  ModelQueues,
  PendingAttempts,
  queueName,
  ResultCache,
  reconcileFailedJob,
  replicaAcks,
  SignalRecorder,
  type StepDeps,
  scheduleOrphanSweep,
  scheduleRetention,
  TaskStreams,
} from '@orchex/queue';
import { type Job, Worker } from 'bullmq';
import { collectDefaultMetrics, Registry } from 'prom-client';

/** How a worker process runs. */
export interface WorkerPoolOptions {
  config: OrchexConfig;
  db: Db;
  redisUrl: string;
  /** ORCHEX_REDIS_CLUSTER: Redis Cluster seed nodes (credentials from redisUrl). Default: one Redis at redisUrl. */
  redisCluster?: RedisClusterSetting | undefined;
  /** ORCHEX_REDIS_REPLICA_ACKS: replicas each budget write waits for, so a failover loses none. Default 0. */
  redisReplicaAcks?: number;
  /** ORCHEX_SWEEP_INTERVAL_MS: how often the orphan sweep runs (one worker at a time). Default 30000 ms. */
  sweepEveryMs?: number;
  /** ORCHEX_RETENTION_DAYS: finished tasks older than this are emptied, hourly, in batches. Default: kept forever. */
  retentionDays?: number | undefined;
  /** Redis key prefix. Default "orchex". */
  prefix?: string;
  /** Models to serve. Default: every configured model. */
  queues?: string[];
  /** Jobs in progress at once per model queue in this process. Default 8. */
  concurrency?: number;
  logger: Logger;
  /** Where provider keys and base URLs are read from, once, at start. Default process.env. */
  providerEnv?: Env;
  /** Base of same-model retry backoff. Default 1000 ms. */
  backoffBaseMs?: number;
  /** BullMQ lock; a job whose worker died is re-delivered after it expires. Default 30000 ms. */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for. Default lockDurationMs. */
  stalledIntervalMs?: number;
  /** Length of the rpm/tpm sliding window; tests shorten it. Default 60000 ms. */
  limitWindowMs?: number;
  /** ORCHEX_ALERT_WEBHOOK: where the daily budget alert is POSTed. Default: none (a log line only). */
  alertWebhook?: string | undefined;
  /**
   * Where the step metrics are registered. Default: a registry of the pool's own, with Node's process metrics
   * (served by the worker's --metrics-port listener).
   */
  registry?: Registry;
}

/** The worker settings that come from the parsed environment (shared by `npm run start:worker` and `npm start`). */
export function workerOptionsFromEnv(
  env: OrchexEnv,
): Pick<
  WorkerPoolOptions,
  | 'redisUrl'
  | 'redisCluster'
  | 'redisReplicaAcks'
  | 'sweepEveryMs'
  | 'retentionDays'
  | 'prefix'
  | 'lockDurationMs'
  | 'limitWindowMs'
  | 'backoffBaseMs'
  | 'alertWebhook'
> {
  const w = env.worker;
  return {
    redisUrl: env.redisUrl,
    redisCluster: env.redisCluster,
    redisReplicaAcks: env.redisReplicaAcks,
    ...(w.sweepEveryMs ? { sweepEveryMs: w.sweepEveryMs } : {}),
    retentionDays: w.retentionDays,
    prefix: env.prefix,
    ...(w.lockDurationMs ? { lockDurationMs: w.lockDurationMs } : {}),
    ...(w.limitWindowMs ? { limitWindowMs: w.limitWindowMs } : {}),
    ...(w.backoffBaseMs ? { backoffBaseMs: w.backoffBaseMs } : {}),
    alertWebhook: w.alertWebhook,
  };
}

export interface WorkerPool {
  workers: Worker[];
  /** The pool's Prometheus metrics (calls, tokens, cost, retries, re-routes, limit waits, sweep re-adds). */
  registry: Registry;
  /** False once close() began or while the pool's Redis connection is down: /healthz then answers 503. */
  ready(): boolean;
  /** Stops taking jobs, waits up to graceMs for running ones, then closes connections. */
  close(graceMs?: number): Promise<void>;
}

/**
 * The worker's composition root: builds every served model's adapter (failing here on a bad provider variable),
 * then one BullMQ worker per served model queue, all sharing one step writer (group commit), one task reader and
 * one Redis connection for commands.
 */
export async function startWorkers(opts: WorkerPoolOptions): Promise<WorkerPool> {
  const { config, db, logger } = opts;
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  const served = opts.queues ?? Object.keys(config.models);
  for (const m of served) {
    if (!Object.hasOwn(config.models, m))
      throw new Error(`--queues: unknown model "${m}" (known: ${Object.keys(config.models).join(', ')})`);
  }
  const models = createLanguageModels(
    served,
    config.models,
    opts.providerEnv ?? process.env,
    await loadPlugins(config.plugins),
  );
  // Every job's scripts (hold, slot, settle, release, announce) share this client: on a single Redis it auto-pipelines,
  // so concurrent jobs' commands leave in one write per tick instead of one syscall each.
  const redis = createRedis(opts.redisUrl, 'orchex-worker', { cluster: opts.redisCluster, autoPipeline: true });
  // BullMQ's queues (a step's next job, a re-route, the sweep's re-adds) get a client of their own: BullMQ defines its
  // ~60 scripts on the client it is given, and ioredis copies every script defined on a client into each pipeline it
  // makes — on the auto-pipelined one above, one pipeline per tick, 65–85 µs each with them.
  const queueRedis = createRedis(opts.redisUrl, 'orchex-worker-queues', { cluster: opts.redisCluster });
  const queues = new ModelQueues(config, queueRedis, prefix);
  const steps = createStepWriter(db);
  const lockDuration = opts.lockDurationMs ?? 30_000;
  const registry = opts.registry ?? defaultRegistry();
  const metrics = createStepMetrics(registry);
  const deps: StepDeps = {
    config,
    reader: createTaskReader(db),
    steps,
    queues,
    models,
    redis,
    prefix,
    logger,
    backoffBaseMs: opts.backoffBaseMs ?? 1000,
    limiter: new ModelLimiter(redis, { prefix, ...(opts.limitWindowMs ? { windowMs: opts.limitWindowMs } : {}) }),
    budget: keyBudgetsFromConfig(redis, config, db, prefix, replicaAcks(opts.redisReplicaAcks)),
    alertWebhook: opts.alertWebhook,
    holder: `${hostname()}:${process.pid}`,
    leaseMs: lockDuration,
    pending: new PendingAttempts(redis, prefix),
    streams: new TaskStreams(redis, prefix),
    signals: new SignalRecorder(redis, prefix, config.routing, logger),
    cache: new ResultCache(redis, prefix, {
      maxEntryBytes: config.cache.max_entry_bytes,
      maxEntries: config.cache.max_entries,
      maxBytes: config.cache.max_bytes,
    }),
    metrics,
  };
  // Every log line of a step (the step's own, the packages' it calls through deps) carries its task and job ids: a
  // logger per job, not an AsyncLocalStorage context, whose hooks every promise of the process would pay.
  const forJob = (job: Job | undefined): StepDeps => {
    const taskId = (job?.data as { taskId?: unknown } | undefined)?.taskId;
    const ids = { taskId: typeof taskId === 'string' ? taskId : undefined, jobId: job?.id };
    return { ...deps, logger: withFields(deps.logger, ids) };
  };

  const workers: Worker[] = [];
  const connections: RedisClient[] = [queueRedis];
  for (const model of served) {
    const maxConcurrency = config.models[model]?.max_concurrency ?? 1; // served names were checked above
    await queues.get(model).setGlobalConcurrency(maxConcurrency);
    const connection = createRedis(opts.redisUrl, `orchex-worker-${model}`, { cluster: opts.redisCluster });
    connections.push(connection);
    const worker = new Worker(queueName(model), (job, token) => executeStep(forJob(job), model, job, token), {
      connection,
      prefix,
      concurrency: opts.concurrency ?? 8,
      // Our own sliding-window limiter counts requests; BullMQ only has to honour queue.rateLimit() pauses, which its
      // fetch script checks solely when a limiter is configured. This one never fills by counting, and its counter
      // key lives 1 ms: with 60 s, every queue that fetched a job in the last minute looked "rate limited" to Bull
      // Board (it reads the counter key's TTL), while the model was not limited at all.
      limiter: { max: Number.MAX_SAFE_INTEGER, duration: 1 },
      lockDuration,
      stalledInterval: opts.stalledIntervalMs ?? lockDuration,
      // A stall is a lost lock: a killed worker, or a Redis outage longer than the lock. Neither is the task's fault,
      // so stalls are allowed generously; past them the job fails and the orphan sweep gives the task a fresh one.
      maxStalledCount: 10,
    });
    worker.on('failed', (job, err) => void reconcileFailedJob(forJob(job), job, err));
    worker.on('error', (err) => logConnectionError(`worker ${model}`, err));
    workers.push(worker);
  }
  const stopSweep = scheduleOrphanSweep(db, queues, redis, prefix, logger, {
    pending: deps.pending,
    ...(opts.sweepEveryMs ? { everyMs: opts.sweepEveryMs } : {}),
    onReadded: (n) => metrics.sweepReadds(n),
  });
  const stopRetention = opts.retentionDays
    ? scheduleRetention(db, redis, prefix, logger, { days: opts.retentionDays })
    : () => {};
  let closing = false;
  logger.info({ queues: served, concurrency: opts.concurrency ?? 8 }, 'worker started');

  return {
    workers,
    registry,
    ready: () => !closing && redis.status === 'ready' && workers.every((w) => w.isRunning()),
    async close(graceMs = 30_000) {
      closing = true;
      stopSweep();
      stopRetention();
      // close() waits for active jobs; past the grace period we force it, and their locks expire for another worker.
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
      const done = Promise.all(workers.map((w) => w.close())).then(() => 'done' as const);
      if ((await Promise.race([done, timer])) === 'timeout') {
        logger.warn({ graceMs }, 'grace period over, closing with jobs in progress');
        await Promise.all(workers.map((w) => w.close(true)));
      }
      await deps.signals.flush();
      await steps.close();
      await queues.close();
      // Connections we passed in are ours to close (BullMQ closes only those it created).
      for (const c of connections) c.disconnect();
      redis.disconnect();
    },
  };
}

/** A registry with Node's process metrics (CPU, memory, event-loop lag, GC), which operators expect beside ours. */
function defaultRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
