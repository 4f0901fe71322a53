import { hostname } from 'node:os';
import type { Logger, OrchexConfig, OrchexEnv } from '@orchex/core';
import { createStepWriter, createTaskReader, type Db, findTask, TERMINAL_STATUSES } from '@orchex/db';
import { createLanguageModel, type LanguageModel } from '@orchex/providers';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { budgetFromConfig } from './budget-from-config.ts';
import { logConnectionError } from './connection-error-log.ts';
import { executeStep, failTaskAndParent, type StepDeps } from './execute-step.ts';
import { ModelLimiter } from './limits/index.ts';
import { ModelQueues } from './model-queues.ts';
import { DEFAULT_PREFIX, queueName } from './queue-name.ts';
import { createRedis } from './redis-connection.ts';
import { scheduleOrphanSweep } from './sweep-orphans.ts';

/** How a worker process runs. */
export interface WorkerPoolOptions {
  config: OrchexConfig;
  db: Db;
  redisUrl: string;
  /** Redis key prefix. Default "orchex". */
  prefix?: string;
  /** Models to serve. Default: every configured model. */
  queues?: string[];
  /** Jobs in progress at once per model queue in this process. Default 8. */
  concurrency?: number;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** Base of same-model retry backoff. Default 1000 ms. */
  backoffBaseMs?: number;
  /** BullMQ lock; a job whose worker died is re-delivered after it expires. Default 30000 ms. */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for. Default lockDurationMs. */
  stalledIntervalMs?: number;
  /** Length of the rpm/tpm sliding window; tests shorten it. Default 60000 ms. */
  limitWindowMs?: number;
}

/** The worker settings that come from the environment (shared by `npm run start:worker` and `npm start`). */
export function workerOptionsFromEnv(
  env: OrchexEnv,
): Pick<WorkerPoolOptions, 'redisUrl' | 'prefix' | 'lockDurationMs' | 'limitWindowMs' | 'backoffBaseMs'> {
  return {
    redisUrl: env.REDIS_URL,
    prefix: env.ORCHEX_PREFIX,
    ...(env.ORCHEX_LOCK_MS ? { lockDurationMs: env.ORCHEX_LOCK_MS } : {}),
    ...(env.ORCHEX_LIMIT_WINDOW_MS ? { limitWindowMs: env.ORCHEX_LIMIT_WINDOW_MS } : {}),
    ...(env.ORCHEX_BACKOFF_BASE_MS ? { backoffBaseMs: env.ORCHEX_BACKOFF_BASE_MS } : {}),
  };
}

export interface WorkerPool {
  workers: Worker[];
  /** Stops taking jobs, waits up to graceMs for running ones, then closes connections. */
  close(graceMs?: number): Promise<void>;
}

/** Starts one BullMQ worker per served model queue, all sharing one step writer (group commit) and one Redis connection. */
export async function startWorkers(opts: WorkerPoolOptions): Promise<WorkerPool> {
  const { config, db, logger } = opts;
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  const served = opts.queues ?? Object.keys(config.models);
  for (const m of served) {
    if (!config.models[m])
      throw new Error(`--queues: unknown model "${m}" (known: ${Object.keys(config.models).join(', ')})`);
  }
  const redis = createRedis(opts.redisUrl, 'orchex-worker');
  const queues = new ModelQueues(config, redis, prefix);
  const steps = createStepWriter(db);
  const adapters = new Map<string, LanguageModel>();
  const budget = budgetFromConfig(redis, config, db, prefix);
  const deps: StepDeps = {
    config,
    db,
    reader: createTaskReader(db),
    steps,
    queues,
    redis,
    prefix,
    logger,
    backoffBaseMs: opts.backoffBaseMs ?? 1000,
    limiter: new ModelLimiter(redis, { prefix, ...(opts.limitWindowMs ? { windowMs: opts.limitWindowMs } : {}) }),
    budget,
    alertWebhook: (opts.env ?? process.env).ORCHEX_ALERT_WEBHOOK,
    holder: `${hostname()}:${process.pid}`,
    model: (name) => {
      let m = adapters.get(name);
      if (!m) {
        m = createLanguageModel(name, config.models[name]!, opts.env ?? process.env);
        adapters.set(name, m);
      }
      return m;
    },
  };
  const lockDuration = opts.lockDurationMs ?? 30_000;

  const workers: Worker[] = [];
  const connections: Redis[] = [];
  for (const model of served) {
    const limits = config.models[model]!;
    await queues.get(model).setGlobalConcurrency(limits.max_concurrency);
    const connection = createRedis(opts.redisUrl, `orchex-worker-${model}`);
    connections.push(connection);
    const worker = new Worker(queueName(model), (job, token) => executeStep(deps, model, job, token), {
      connection,
      prefix,
      concurrency: opts.concurrency ?? 8,
      // Our own sliding-window limiter counts requests; BullMQ only has to honour queue.rateLimit() pauses, which its
      // fetch script checks solely when a limiter is configured. This one never fills by counting.
      limiter: { max: Number.MAX_SAFE_INTEGER, duration: 60_000 },
      lockDuration,
      stalledInterval: opts.stalledIntervalMs ?? lockDuration,
      maxStalledCount: 2,
    });
    worker.on('failed', (job, err) => void reconcileFailedJob(deps, job, err));
    worker.on('error', (err) => logConnectionError(`worker ${model}`, err));
    workers.push(worker);
  }
  const stopSweep = scheduleOrphanSweep(db, queues, redis, prefix, logger);
  logger.info({ queues: served, concurrency: opts.concurrency ?? 8 }, 'worker started');

  return {
    workers,
    async close(graceMs = 30_000) {
      stopSweep();
      // close() waits for active jobs; past the grace period we force it, and their locks expire for another worker.
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
      const done = Promise.all(workers.map((w) => w.close())).then(() => 'done' as const);
      if ((await Promise.race([done, timer])) === 'timeout') {
        logger.warn({ graceMs }, 'grace period over, closing with jobs in progress');
        await Promise.all(workers.map((w) => w.close(true)));
      }
      await steps.close();
      await queues.close();
      // Connections we passed in are ours to close (BullMQ closes only those it created).
      for (const c of connections) c.disconnect();
      redis.disconnect();
    },
  };
}

/**
 * A job that failed outside the step's own decisions (a bug, a database outage past its retries, a job stalled
 * too often) must not leave its task "running" forever: fail the task if the job was still its current step.
 */
async function reconcileFailedJob(deps: StepDeps, job: Job | undefined, err: Error): Promise<void> {
  if (!job) return;
  const finalFailure = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
  if (!finalFailure) return;
  try {
    const { taskId, step } = job.data as { taskId: string; step: number };
    const task = await findTask(deps.db, taskId);
    if (!task || task.currentStep !== step || (TERMINAL_STATUSES as readonly string[]).includes(task.status)) return;
    deps.logger.warn({ taskId, step, err: err.message }, 'task failed by an unhandled job failure');
    await failTaskAndParent(deps, task, { kind: 'server', message: `job failed: ${err.message}`.slice(0, 2000) });
  } catch (e) {
    deps.logger.error({ err: (e as Error).message }, 'could not reconcile failed job');
  }
}
