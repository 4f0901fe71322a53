/**
 * Memory with many slow calls in flight: one orchex worker process (the compiled worker, `--concurrency N`, as
 * deployed) holding N calls to a fake model that takes 5 s, beside the baseline — a raw BullMQ worker calling the same
 * SDK adapter (bench/support/raw-worker.ts, compiled the same way) with N in flight, also a process of its own. Both are measured the same
 * way, from outside: /proc/PID/status, VmRSS when started and idle and after one call, VmHWM (peak resident) after
 * the N calls. Prints the peak ratio (target ≤ 1.2× raw), idle RSS, and what each in-flight call adds
 * ((peak − after one call) / N, so what loads once on first use is not counted per call).
 *   The API, the fake and this driver share one process; the fake's latency is its setDefault latencyMs.
 *   Needs REDIS_URL and DATABASE_URL.   BENCH_IN_FLIGHT=1000 BENCH_LATENCY_MS=5000 npm run bench:memory
 */
import { BENCH_MODEL } from './support/bench-config.ts';
import { loadAverage } from './support/load-average.ts';
import { type ProcMemory, procMemory } from './support/proc-memory.ts';
import { startBenchStack } from './support/start-bench-stack.ts';
import { startRawWorker } from './support/start-raw-worker.ts';
import { startWorkerProcesses, stopWorkerProcesses } from './support/worker-process.ts';

const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 1000);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 5000);

console.log(`start: ${loadAverage()}`);
const stack = await startBenchStack('memory', LATENCY_MS);

interface Measured {
  idle: ProcMemory;
  /** After one call: what loads on first use (the SDK's paths, orchex's tokenizer tables) is in, once per process. */
  warm: ProcMemory;
  peak: ProcMemory;
  /** Most calls the fake saw in flight at once: proves the N were held together. */
  inFlight: number;
}

const settle = () => new Promise((r) => setTimeout(r, 2000));

/** Idle memory, then after `work(1)`, then `work(IN_FLIGHT)` (the N calls in flight together) and the peak. */
async function measure(pid: number, work: (n: number) => Promise<unknown>): Promise<Measured> {
  // Let start-up garbage settle, so "idle" is the process at rest rather than mid-start.
  await settle();
  const idle = procMemory(pid);
  await work(1);
  await settle();
  const warm = procMemory(pid);
  stack.fake.resetLog();
  await work(IN_FLIGHT);
  return { idle, warm, peak: procMemory(pid), inFlight: stack.fake.peakInFlight(BENCH_MODEL) };
}

const raw = await startRawWorker(stack.redisUrl, IN_FLIGHT, stack.fakeEnv);
const rawM = await measure(raw.pid, (n) => raw.run(n));
await raw.close();

const workers = await startWorkerProcesses(1, IN_FLIGHT, stack.workerEnv);
const orchexM = await measure(workers[0]?.pid as number, (n) => stack.runTasks(n, 'memory'));
await stopWorkerProcesses(workers);

const perCallKb = (m: Measured) => ((m.peak.peakMb - m.warm.rssMb) * 1024) / IN_FLIGHT;
console.log(`${IN_FLIGHT} calls in flight, fake latency ${LATENCY_MS} ms; RSS from /proc/PID/status`);
console.log(
  '                           idle RSS   after 1 call   peak RSS (VmHWM)   per call in flight   peak in flight',
);
for (const [label, m] of [
  ['baseline raw BullMQ + SDK', rawM],
  ['orchex worker process   ', orchexM],
] as const) {
  console.log(
    `${label}  ${m.idle.rssMb.toFixed(0).padStart(6)} MB  ${m.warm.rssMb.toFixed(0).padStart(9)} MB  ${m.peak.peakMb.toFixed(0).padStart(13)} MB  ` +
      `${perCallKb(m).toFixed(1).padStart(16)} KB  ${String(m.inFlight).padStart(15)}`,
  );
}
console.log(
  `ratio orchex / baseline (peak RSS): ${(orchexM.peak.peakMb / rawM.peak.peakMb).toFixed(2)} (target ≤ 1.2)`,
);
console.log(`end: ${loadAverage()}`);
await stack.close();
process.exit(0);
