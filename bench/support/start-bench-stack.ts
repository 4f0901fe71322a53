import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningApi, startApi } from '@orchex/api/start';
import { type ModelConfig, type OrchexConfig, silentLogger } from '@orchex/core';
import { createDatabase, type DatabaseHandle, runMigrations } from '@orchex/db';
import { type FakeLlmServer, fakeProviderEnv, startFakeLlmServer } from '@orchex/providers/fake';
import { createRedis } from '@orchex/queue';
import { startWorkers, type WorkerPool } from '@orchex/worker/start';
import { sql } from 'drizzle-orm';
import { freshDatabase } from '../../test/support/fresh-database.ts';
import { BENCH_MODEL, type BenchLimits, benchConfig, benchConfigSource } from './bench-config.ts';

/**
 * What the benches share: the fake server, a throwaway database, the API in this process, and the environment a
 * worker process (worker-process.ts) needs to join them — or workers in this process.
 */
export interface BenchStack {
  fake: FakeLlmServer;
  api: RunningApi;
  database: DatabaseHandle;
  config: OrchexConfig;
  /** config.models[BENCH_MODEL]. */
  model: ModelConfig;
  redisUrl: string;
  /** fakeProviderEnv(fake.url): for a process that calls the fake directly. */
  fakeEnv: Record<string, string>;
  /** For a worker process (worker-process.ts): this Redis prefix, database, config and fake. */
  workerEnv: NodeJS.ProcessEnv;
  /** The bench's client API key. */
  key: string;
  /** POST to the API as the bench's client key. */
  post(path: string, body: unknown): Promise<Response>;
  /** GET from the API as the bench's client key. */
  get(path: string): Promise<Response>;
  /** Workers in this process (for benches that time what happens inside them), on this stack's queues. */
  startWorkersHere(concurrency: number): Promise<WorkerPool>;
  /** Submits `n` tasks as batches of 500 and resolves when all have succeeded; returns the seconds it took. */
  runTasks(n: number, label: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * `latencyMs`: how long the fake model takes to answer each call; `limits`: the model's (default: none that a bench
 * reaches). Needs DATABASE_URL; REDIS_URL defaults to local.
 */
export async function startBenchStack(name: string, latencyMs: number, limits?: BenchLimits): Promise<BenchStack> {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const baseDb = process.env.DATABASE_URL;
  if (!baseDb) throw new Error(`bench:${name} needs DATABASE_URL (Postgres)`);
  const { config, model } = benchConfig(limits);
  const configDir = mkdtempSync(join(tmpdir(), 'orchex-bench-'));
  const configPath = join(configDir, 'config.json');
  writeFileSync(configPath, JSON.stringify(benchConfigSource(limits)));
  const fake = await startFakeLlmServer();
  if (latencyMs > 0) fake.setDefault(BENCH_MODEL, { type: 'ok', latencyMs });
  const fresh = await freshDatabase(baseDb, `bench_${name}`);
  const database = await createDatabase({ url: fresh.url, poolSize: 10 });
  await runMigrations(database);
  const prefix = `bench-${name}-${randomBytes(3).toString('hex')}`;
  const key = 'bench-client-key-000001';
  const api = await startApi({
    config,
    db: database.db,
    redisUrl,
    prefix,
    logger: silentLogger,
    apiKeys: [key],
    adminKey: undefined,
    port: 0,
    host: '127.0.0.1',
  });
  const fakeEnv = fakeProviderEnv(fake.url);
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const post = (path: string, body: unknown) =>
    fetch(`${api.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  const get = (path: string) => fetch(`${api.url}${path}`, { headers });

  return {
    fake,
    api,
    database,
    config,
    model,
    redisUrl,
    fakeEnv,
    key,
    workerEnv: {
      ...process.env,
      ...fakeEnv,
      REDIS_URL: redisUrl,
      DATABASE_URL: fresh.url,
      ORCHEX_PREFIX: prefix,
      ORCHEX_CONFIG: configPath,
    },
    post,
    get,
    startWorkersHere: (concurrency) =>
      startWorkers({
        config,
        db: database.db,
        redisUrl,
        prefix,
        logger: silentLogger,
        providerEnv: { ...process.env, ...fakeEnv },
        concurrency,
      }),
    async runTasks(n, label) {
      // Timed by the database's clock at both ends: from just before the first submit to the last task's finished_at.
      // The driver polls only to learn that all are done, and seldom, so its own queries barely load Postgres.
      const start = await database.db.execute<{ t: string }>(sql`select clock_timestamp()::text as t`);
      const ids: string[] = [];
      for (let i = 0; i < n; i += 500) {
        const tasks = Array.from({ length: Math.min(500, n - i) }, (_, j) => ({
          prompt: `${label} ${i + j}`,
          max_tokens: 16,
        }));
        const res = await post('/v1/batches', { tasks });
        if (res.status !== 202) throw new Error(`submit failed: ${res.status} ${await res.text()}`);
        ids.push(((await res.json()) as { id: string }).id);
      }
      // While the last batch (submitted last, so run last) still has tasks to go, only its ≤ 500 rows are read: the
      // whole round's rows, read every 250 ms, were a tenth of Postgres's work during bench:throughput.
      const last = ids.at(-1);
      for (;;) {
        await new Promise((r) => setTimeout(r, 250));
        const pending = await database.db.execute<{ n: number }>(
          sql`select count(*)::int as n from tasks where batch_id = ${last} and status <> 'succeeded'`,
        );
        if (Number(pending.rows[0]?.n) > 0) continue;
        const done = await database.db.execute<{ n: number; seconds: number }>(
          sql`select count(*)::int as n, extract(epoch from max(finished_at) - ${start.rows[0]?.t}::timestamptz)::float8 as seconds
              from tasks where status = 'succeeded' and batch_id in ${ids}`,
        );
        const row = done.rows[0];
        if (row && Number(row.n) >= n) return Number(row.seconds);
      }
    },
    async close() {
      await api.close();
      await removeKeys(redisUrl, prefix);
      await database.close();
      await fake.close();
      await fresh.drop();
      rmSync(configDir, { recursive: true, force: true });
    },
  };
}

/** Removes a bench's keys (its queues keep their completed jobs, its budgets and limits their days) from Redis. */
async function removeKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = createRedis(redisUrl, 'orchex-bench-cleanup');
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
}
