/**
 * Time to first token through orchex against the same SDK streaming straight from the fake server, in the same run:
 *   direct: the openai SDK → fake (stream: true)
 *   orchex: the openai SDK → POST /v1/chat/completions (stream) → task row → BullMQ → worker → the same SDK streaming
 *           from the fake → Redis Stream → the API's SSE
 * At 1 and 50 concurrent streams; p50 and p99 of the time until the first content chunk.
 * Needs REDIS_URL and DATABASE_URL.   BENCH_STREAMS=200 npm run bench:stream
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { startApi } from '@orchex/api/start';
import { parseConfig, silentLogger } from '@orchex/core';
import { createDatabase, runMigrations } from '@orchex/db';
import { fakeProviderEnv, startFakeLlmServer } from '@orchex/providers/fake';
import { startWorkers } from '@orchex/worker/start';
import OpenAI from 'openai';
import { freshDatabase } from '../test/support/fresh-database.ts';

const SAMPLES = Number(process.env.BENCH_STREAMS ?? 200);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const baseDb = process.env.DATABASE_URL;
if (!baseDb) throw new Error('bench:stream needs DATABASE_URL (Postgres)');

const fake = await startFakeLlmServer();
// A model that thinks 20 ms before its first token, then writes a word every 5 ms.
fake.setDefault('*', { type: 'ok', latencyMs: 20, chunkDelayMs: 5, text: 'one two three four five six seven eight' });
const env = { ...process.env, ...fakeProviderEnv(fake.url) };
const config = parseConfig({
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
});
const fresh = await freshDatabase(baseDb, 'bench_stream');
const database = await createDatabase({ url: fresh.url, poolSize: 20 });
await runMigrations(database);
const prefix = `bench-stream-${randomBytes(3).toString('hex')}`;
const key = 'bench-client-key-000001';
const pool = await startWorkers({
  config,
  db: database.db,
  redisUrl,
  prefix,
  logger: silentLogger,
  providerEnv: env,
  concurrency: 64,
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

const direct = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: 'fake-key', maxRetries: 0 });
const orchex = new OpenAI({ baseURL: `${api.url}/v1`, apiKey: key, maxRetries: 0 });

/** Milliseconds until the first content chunk of one streamed completion (the stream is then read to its end). */
async function ttft(client: OpenAI): Promise<number> {
  const started = performance.now();
  const stream = await client.chat.completions.create({
    model: 'bench-model',
    messages: [{ role: 'user', content: 'count' }],
    max_tokens: 32,
    stream: true,
  });
  let first: number | undefined;
  for await (const chunk of stream)
    if (first === undefined && chunk.choices[0]?.delta.content) first = performance.now();
  return (first ?? performance.now()) - started;
}

/** `samples` TTFTs, `concurrency` streams at a time. */
async function measure(client: OpenAI, concurrency: number, samples: number): Promise<number[]> {
  const out: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < samples) out.push(await ttft(client));
    }),
  );
  return out;
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? Number.NaN;

await measure(orchex, 4, 20); // warm-up: connections, tokenizer tables, JIT
await measure(direct, 4, 20);
console.log(
  `time to first token, ${SAMPLES} streams per row; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
for (const concurrency of [1, 50]) {
  const d = await measure(direct, concurrency, SAMPLES);
  const o = await measure(orchex, concurrency, SAMPLES);
  const row = (name: string, xs: number[]) =>
    `${name.padEnd(8)} p50 ${pct(xs, 50).toFixed(1).padStart(6)} ms   p99 ${pct(xs, 99).toFixed(1).padStart(6)} ms`;
  console.log(`\n${concurrency} concurrent stream(s)`);
  console.log(row('direct', d));
  console.log(row('orchex', o));
  console.log(
    `added    p50 ${(pct(o, 50) - pct(d, 50)).toFixed(1).padStart(6)} ms   p99 ${(pct(o, 99) - pct(d, 99)).toFixed(1).padStart(6)} ms`,
  );
}

await api.close();
await pool.close(5000);
await database.close();
await fake.close();
await fresh.drop();
