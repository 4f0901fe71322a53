/**
 * Rate-limit fidelity: one model at RPM requests per minute and IN_FLIGHT concurrent calls, 1 s fake latency,
 * 3 worker processes, DURATION seconds of saturation. Prints the share of the allowed rate used, the worst
 * 60-second window against the limit, and the peak in flight. Baseline: the limit itself (what a perfect limiter
 * would allow in the same run). Needs REDIS_URL and DATABASE_URL (Postgres: the workers are separate processes).
 *
 *   npm run bench:limits            # 120 rpm, 10 in flight, 120 s
 *   BENCH_DURATION_S=60 npm run bench:limits   # whole minutes
 */
import { BENCH_MODEL } from './support/bench-config.ts';
import { startBenchStack } from './support/start-bench-stack.ts';
import { startWorkerProcesses, stopWorkerProcesses } from './support/worker-process.ts';

const RPM = 120;
const IN_FLIGHT = 10;
const WORKERS = 3;
// Whole minutes: in k windows a perfect sliding-window limiter allows exactly k × RPM starts.
const DURATION_S = 60 * Math.max(1, Math.round(Number(process.env.BENCH_DURATION_S ?? 120) / 60));
const LATENCY_MS = 1000;

const stack = await startBenchStack('limits', LATENCY_MS, { rpm: RPM, max_concurrency: IN_FLIGHT });
const { fake } = stack;
const workers = await startWorkerProcesses(WORKERS, 20, stack.workerEnv);

// Enough work to keep the model saturated for the whole run.
const total = Math.ceil((RPM * DURATION_S) / 60) + RPM;
console.log(
  `submitting ${total} tasks; ${WORKERS} workers; ${RPM} rpm, ${IN_FLIGHT} in flight, ${LATENCY_MS} ms latency, ${DURATION_S} s`,
);
for (let i = 0; i < total; i += 100) {
  await Promise.all(
    Array.from({ length: Math.min(100, total - i) }, (_, j) =>
      stack.post('/v1/tasks', { prompt: `bench ${i + j}`, max_tokens: 16 }),
    ),
  );
}
const first = await new Promise<number>((resolve) => {
  const t = setInterval(() => {
    const e = fake.log[0];
    if (e) {
      clearInterval(t);
      resolve(e.startedAt);
    }
  }, 20);
});
await new Promise((r) => setTimeout(r, DURATION_S * 1000 - (Date.now() - first)));
const starts = fake.log
  .map((e) => e.startedAt)
  .filter((t) => t < first + DURATION_S * 1000)
  .sort((a, b) => a - b);
let worst = 0;
for (let i = 0, j = 0; i < starts.length; i++) {
  while (j < starts.length && starts[j]! < starts[i]! + 60_000) j++;
  worst = Math.max(worst, j - i);
}
const allowed = (RPM * DURATION_S) / 60;
console.log(
  `calls started in ${DURATION_S} s: ${starts.length} of ${allowed} allowed → ${((100 * starts.length) / allowed).toFixed(1)}% of the allowed rate used (aim ≥ 95%)`,
);
console.log(`worst 60 s window: ${worst} calls (limit ${RPM}; over by ${Math.max(0, worst - RPM)}; aim 0)`);
console.log(`peak in flight: ${fake.peakInFlight(BENCH_MODEL)} (limit ${IN_FLIGHT})`);

await stopWorkerProcesses(workers);
await stack.close();
process.exit(0);
