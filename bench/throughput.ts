/**
 * Throughput and added latency of the whole orchex path against a baseline measured in the same run, on the same
 * Redis and the same fake server (zero latency):
 *   orchex:   HTTP submit (batches of 500) → Postgres row → BullMQ → worker → official SDK → fake → attempt, result and
 *             cost in Postgres (group commit) → task visible as succeeded
 *   baseline: raw BullMQ queue + worker calling the same SDK, no persistence
 * Also one task at a time: submit + wait (GET ?wait) vs a direct SDK call, p50/p99.
 * Needs REDIS_URL and DATABASE_URL.   BENCH_TASKS=2000 BENCH_CONCURRENCY=32 npm run bench:throughput
 */
import { randomBytes } from 'node:crypto';
import { startApi } from '@orchex/api/start';
import { parseConfig, silentLogger } from '@orchex/core';
import { createDatabase, runMigrations } from '@orchex/db';
import { createLanguageModel } from '@orchex/providers';
import { fakeProviderEnv, startFakeLlmServer } from '@orchex/providers/fake';
import { createRedis } from '@orchex/queue';
import { startWorkers } from '@orchex/worker/start';
import { Queue, Worker } from 'bullmq';
import { sql } from 'drizzle-orm';
import { freshDatabase } from '../test/support/fresh-database.ts';

const N = Number(process.env.BENCH_TASKS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 200);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const baseDb = process.env.DATABASE_URL;
if (!baseDb) throw new Error('bench:throughput needs DATABASE_URL (Postgres)');

const fake = await startFakeLlmServer();
const env = { ...process.env, ...fakeProviderEnv(fake.url) };
const source = {
  orchestrator: { default_model: 'bench-model', timeout: 30 },
  models: {
    'bench-model': {
      provider: 'openai',
      model_id: 'bench-model',
      input_cost_per_1k: 0.001,
      output_cost_per_1k: 0.002,
      max_tokens: 100_000,
      rpm: 10_000_000,
      max_concurrency: 10_000,
    },
  },
};
const config = parseConfig(source);
const model = createLanguageModel('bench-model', config.models['bench-model']!, env);
const call = () => model.doGenerate({ prompt: 'benchmark prompt', maxOutputTokens: 16 });
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

// ---- baseline: raw BullMQ + SDK, no persistence
const rawPrefix = `bench-raw-${randomBytes(3).toString('hex')}`;
const rawQueue = new Queue('raw', { connection: createRedis(redisUrl), prefix: rawPrefix });
let rawDone = 0;
let rawResolve!: () => void;
const rawFinished = new Promise<void>((r) => {
  rawResolve = r;
});
const rawWorker = new Worker(
  'raw',
  async () => {
    await call();
  },
  { connection: createRedis(redisUrl), prefix: rawPrefix, concurrency: CONCURRENCY },
);
rawWorker.on('completed', () => {
  if (++rawDone === N) rawResolve();
});
let t = performance.now();
for (let i = 0; i < N; i += 500) {
  await rawQueue.addBulk(
    Array.from({ length: Math.min(500, N - i) }, (_, j) => ({
      name: 'call',
      data: { i: i + j },
      opts: { removeOnComplete: true },
    })),
  );
}
await rawFinished;
const rawSecs = (performance.now() - t) / 1000;
await rawWorker.close();
await rawQueue.obliterate({ force: true });
await rawQueue.close();

// ---- orchex: the whole path
const fresh = await freshDatabase(baseDb, 'bench');
const dbUrl = new URL(fresh.url);
const database = await createDatabase({ url: dbUrl.toString(), poolSize: 20 });
await runMigrations(database);
const prefix = `bench-${randomBytes(3).toString('hex')}`;
const key = 'bench-client-key-000001';
const pool = await startWorkers({
  config,
  db: database.db,
  redisUrl,
  prefix,
  logger: silentLogger,
  providerEnv: env,
  concurrency: CONCURRENCY,
});
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
const post = (path: string, body: unknown) =>
  fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const succeeded = async () =>
  Number(
    (await database.db.execute<{ n: number }>(sql`select count(*)::int as n from tasks where status = 'succeeded'`))
      .rows[0]!.n,
  );

t = performance.now();
let usedBatches = true;
for (let i = 0; i < N; i += 500) {
  const tasks = Array.from({ length: Math.min(500, N - i) }, (_, j) => ({
    prompt: `benchmark prompt ${i + j}`,
    max_tokens: 16,
  }));
  const res = usedBatches ? await post('/v1/batches', { tasks }) : undefined;
  if (!res || res.status === 404) {
    usedBatches = false; // no batch endpoint: submit one by one, 64 at a time
    for (let k = 0; k < tasks.length; k += 64)
      await Promise.all(tasks.slice(k, k + 64).map((task) => post('/v1/tasks', task)));
  } else if (res.status !== 202) throw new Error(`submit failed: ${res.status} ${await res.text()}`);
}
while ((await succeeded()) < N) await new Promise((r) => setTimeout(r, 50));
const orchexSecs = (performance.now() - t) / 1000;

// ---- one task at a time: added latency over a direct SDK call
const direct: number[] = [];
const whole: number[] = [];
for (let i = 0; i < LATENCY_SAMPLES; i++) {
  let s = performance.now();
  await call();
  direct.push(performance.now() - s);
  s = performance.now();
  const { id } = (await (await post('/v1/tasks', { prompt: `latency ${i}`, max_tokens: 16 })).json()) as { id: string };
  await fetch(`${api.url}/v1/tasks/${id}?wait=30`, { headers: { authorization: `Bearer ${key}` } });
  whole.push(performance.now() - s);
}

const rawRate = N / rawSecs;
const orchexRate = N / orchexSecs;
console.log(
  `tasks: ${N}, worker concurrency: ${CONCURRENCY}, submit: ${usedBatches ? 'POST /v1/batches × 500' : 'POST /v1/tasks'}`,
);
console.log(`baseline raw BullMQ + SDK : ${rawRate.toFixed(0)} tasks/s`);
console.log(`orchex whole path         : ${orchexRate.toFixed(0)} tasks/s`);
console.log(`ratio orchex / baseline   : ${(orchexRate / rawRate).toFixed(2)}`);
console.log(`direct SDK call           : p50 ${pct(direct, 50).toFixed(1)} ms, p99 ${pct(direct, 99).toFixed(1)} ms`);
console.log(`orchex submit + wait      : p50 ${pct(whole, 50).toFixed(1)} ms, p99 ${pct(whole, 99).toFixed(1)} ms`);
console.log(
  `added latency             : p50 ${(pct(whole, 50) - pct(direct, 50)).toFixed(1)} ms, p99 ${(pct(whole, 99) - pct(direct, 99)).toFixed(1)} ms`,
);

await api.close();
await pool.close(5000);
await database.close();
await fake.close();
await fresh.drop();
process.exit(0);
