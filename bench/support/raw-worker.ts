/**
 * The baseline's worker process: a raw BullMQ worker on queue "raw" whose job is one call through the same SDK
 * adapter orchex uses, and nothing else (no Postgres, no limiter, no budget). Started by startRawWorker; it says
 * "ready" over IPC, and when the parent asks { until: n } it answers { completed } once n jobs in all have completed.
 *   argv: --concurrency N     env: REDIS_URL, RAW_PREFIX, the fake's provider variables (fakeProviderEnv)
 */
import { parseArgs } from 'node:util';
import { createLanguageModel } from '@orchex/providers';
import { createRedis } from '@orchex/queue';
import { Worker } from 'bullmq';
import { BENCH_MODEL, benchConfig } from './bench-config.ts';

const send = (message: unknown) => process.send?.(message);
const { values } = parseArgs({ options: { concurrency: { type: 'string' } } });
const model = createLanguageModel(BENCH_MODEL, benchConfig().model);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
let completed = 0;
let until = Number.POSITIVE_INFINITY;
const worker = new Worker(
  'raw',
  async () => {
    await model.doGenerate({ prompt: 'benchmark prompt', maxOutputTokens: 16 });
  },
  { connection: createRedis(redisUrl), prefix: process.env.RAW_PREFIX, concurrency: Number(values.concurrency) },
);
const check = () => {
  if (completed >= until) {
    until = Number.POSITIVE_INFINITY;
    send({ completed });
  }
};
worker.on('completed', () => {
  completed++;
  check();
});
// A failed call never completes, so the parent would wait forever: say why.
worker.on('failed', (_job, err) => console.error(`raw worker: call failed: ${err.message}`));
process.on('message', (m: { until: number }) => {
  until = m.until;
  check();
});
await worker.waitUntilReady();
send('ready');
