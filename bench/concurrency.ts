/**
 * Does one worker process keep its concurrency busy? The compiled worker, `--concurrency 20` (as deployed, a
 * process of its own) against a fake model that takes 200 ms per call: at best 20 / 0.2 s = 100 tasks/s. Prints the
 * sustained rate and its ratio to that bound (target ≥ 0.9); with BENCH_PROCESSES=1,2 also two such processes (bound
 * 200/s). Sustained: calls the fake saw start per second, between 1 s after the first start and 1 s before the last, so
 * neither the pipeline filling nor the queue running dry counts — each task is one call, so it is the task rate.
 *   The API, the fake and this driver share one process.
 *   Needs REDIS_URL and DATABASE_URL.
 *   BENCH_PROCESSES=1,2 BENCH_CONCURRENCY=20 BENCH_LATENCY_MS=200 BENCH_SECONDS=10 npm run bench:concurrency
 */
import { BENCH_MODEL } from './support/bench-config.ts';
import { loadAverage } from './support/load-average.ts';
import { startBenchStack } from './support/start-bench-stack.ts';
import { startWorkerProcesses, stopWorkerProcesses } from './support/worker-process.ts';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const PROCESSES = (process.env.BENCH_PROCESSES ?? '1').split(',').map(Number);

console.log(`start: ${loadAverage()}`);
const stack = await startBenchStack('concurrency', LATENCY_MS);

/** Calls started per second in the steady middle of the log (see the header). */
function sustainedRate(): number {
  const starts = stack.fake.log.filter((e) => e.model === BENCH_MODEL).map((e) => e.startedAt);
  const from = Math.min(...starts) + 1000;
  const to = Math.max(...starts) - 1000;
  return starts.filter((t) => t >= from && t < to).length / ((to - from) / 1000);
}

const rows: string[] = [];
for (const k of PROCESSES) {
  const procs = await startWorkerProcesses(k, CONCURRENCY, stack.workerEnv);
  const bound = (k * CONCURRENCY * 1000) / LATENCY_MS;
  await stack.runTasks(Math.ceil(bound), `warm-up ${k}`); // JIT, connections and pools warm before measuring
  stack.fake.resetLog();
  await stack.runTasks(Math.ceil(bound * SECONDS), `round ${k}`);
  const rate = sustainedRate();
  rows.push(
    `${String(k).padStart(9)}  ${String(k * CONCURRENCY).padStart(11)}  ${bound.toFixed(0).padStart(11)}  ` +
      `${rate.toFixed(1).padStart(15)}  ${(rate / bound).toFixed(2).padStart(13)}`,
  );
  await stopWorkerProcesses(procs);
}
console.log(`fake latency ${LATENCY_MS} ms, --concurrency ${CONCURRENCY} per worker process, ${SECONDS} s per round`);
console.log('processes  concurrency  bound (/s)  sustained tasks/s  ratio (≥ 0.9)');
for (const r of rows) console.log(r);
console.log(`end: ${loadAverage()}`);
await stack.close();
process.exit(0);
