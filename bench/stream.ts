/**
 * Time to first token through orchex against the same SDK streaming straight from the fake server, in the same run:
 *   direct: the openai SDK → fake (stream: true)
 *   orchex: the openai SDK → POST /v1/chat/completions (stream) → task row → BullMQ → worker → the same SDK streaming
 *           from the fake → Redis Stream → the API's SSE
 * At 1 and 50 concurrent streams; p50 and p99 of the time until the first content chunk.
 * Needs REDIS_URL and DATABASE_URL.   BENCH_STREAMS=200 npm run bench:stream
 */
import OpenAI from 'openai';
import { loadAverage } from './support/load-average.ts';
import { startBenchStack } from './support/start-bench-stack.ts';

const SAMPLES = Number(process.env.BENCH_STREAMS ?? 200);

const stack = await startBenchStack('stream', 0);
// A model that thinks 20 ms before its first token, then writes a word every 5 ms.
stack.fake.setDefault('*', {
  type: 'ok',
  latencyMs: 20,
  chunkDelayMs: 5,
  text: 'one two three four five six seven eight',
});
const pool = await stack.startWorkersHere(64);
const { fake, api, key } = stack;

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
console.log(`time to first token, ${SAMPLES} streams per row; ${loadAverage()}`);
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

await pool.close(5000);
await stack.close();
