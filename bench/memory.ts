/**
 * Memory with many slow calls in flight: one orchex worker process (`apps/worker/src/main.ts --concurrency N`, as
 * deployed) holding N calls to a fake model that takes 5 s, beside the baseline — a raw BullMQ worker calling the same
 * SDK adapter (bench/support/raw-worker.ts) with N in flight, also a process of its own. Both are measured the same
 * way, from outside: /proc/PID/status, VmRSS when started and idle, VmHWM (peak resident) after the N calls. Prints
 * the peak ratio (target ≤ 1.2× raw), idle RSS, and what each in-flight call adds ((peak − idle) / N).
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
  peak: ProcMemory;
  /** Most calls the fake saw in flight at once: proves the N were held together. */
  inFlight: number;
}

/** Idle memory now, then `work` (which puts the N calls in flight and waits for them), then the peak. */
async function measure(pid: number, work: () => Promise<unknown>): Promise<Measured> {
  // Let start-up garbage settle, so "idle" is the process at rest rather than mid-start.
  await new Promise((r) => setTimeout(r, 2000));
  const idle = procMemory(pid);
  stack.fake.resetLog();
  await work();
  return { idle, peak: procMemory(pid), inFlight: stack.fake.peakInFlight(BENCH_MODEL) };
}

const raw = await startRawWorker(stack.redisUrl, IN_FLIGHT, stack.fakeEnv);
const rawM = await measure(raw.pid, () => raw.run(IN_FLIGHT));
await raw.close();

const workers = await startWorkerProcesses(1, IN_FLIGHT, stack.workerEnv);
const orchexM = await measure(workers[0]?.pid as number, () => stack.runTasks(IN_FLIGHT, 'memory'));
await stopWorkerProcesses(workers);

const perCallKb = (m: Measured) => ((m.peak.peakMb - m.idle.rssMb) * 1024) / IN_FLIGHT;
console.log(`${IN_FLIGHT} calls in flight, fake latency ${LATENCY_MS} ms; RSS from /proc/PID/status`);
console.log('                           idle RSS   peak RSS (VmHWM)   per call in flight   peak in flight');
for (const [label, m] of [
  ['baseline raw BullMQ + SDK', rawM],
  ['orchex worker process   ', orchexM],
] as const) {
  console.log(
    `${label}  ${m.idle.rssMb.toFixed(0).padStart(6)} MB  ${m.peak.peakMb.toFixed(0).padStart(13)} MB  ` +
      `${perCallKb(m).toFixed(1).padStart(16)} KB  ${String(m.inFlight).padStart(15)}`,
  );
}
console.log(
  `ratio orchex / baseline (peak RSS): ${(orchexM.peak.peakMb / rawM.peak.peakMb).toFixed(2)} (target ≤ 1.2)`,
);
console.log(`end: ${loadAverage()}`);
await stack.close();
process.exit(0);
