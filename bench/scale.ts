/**
 * Scaling out: throughput with 1, 2 and 4 worker processes at a fixed concurrency each, against a fake model that
 * takes 200 ms per call, so each process could at best do concurrency / 0.2 s tasks per second. Prints tasks/s, the
 * ratio to ideal linear scaling (k × the 1-process rate, measured in the same run), the ratio to the latency bound,
 * and the CPU the processes used (cores busy out of the machine's), which shows where the machine runs out.
 *
 *   API, fake model and this driver: one process; workers: the compiled worker's child processes, as deployed.
 *   Needs REDIS_URL and DATABASE_URL.
 *   BENCH_PROCESSES=1,2,4 BENCH_CONCURRENCY=32 BENCH_SECONDS=6 BENCH_LATENCY_MS=200 npm run bench:scale
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { loadAverage } from './support/load-average.ts';
import { startBenchStack } from './support/start-bench-stack.ts';
import { cpuSeconds, startWorkerProcesses, stopWorkerProcesses } from './support/worker-process.ts';

const PROCESSES = (process.env.BENCH_PROCESSES ?? '1,2,4').split(',').map(Number);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 200);

console.log(`start: ${loadAverage()}`);
const stack = await startBenchStack('scale', LATENCY_MS);

/** Busy and total CPU time of the whole machine (every process, other users' too), from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0); // idle + iowait
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

interface Round {
  processes: number;
  tasks: number;
  rate: number;
  workerCores: number;
  apiCores: number;
  /** Share of the machine's CPU time that was busy during the round, whoever used it. */
  machineBusy: number;
}

const cores = availableParallelism();
const rounds: Round[] = [];
for (const k of PROCESSES) {
  const procs = await startWorkerProcesses(k, CONCURRENCY, stack.workerEnv);
  // Each round runs about SECONDS at the latency bound: k × concurrency calls every LATENCY_MS.
  const bound = (k * CONCURRENCY * 1000) / LATENCY_MS;
  await stack.runTasks(Math.ceil(bound), `warm-up ${k}`); // JIT, connections and pools warm before measuring
  const tasks = Math.ceil(bound * SECONDS);
  const before = procs.map((p) => cpuSeconds(p.pid as number));
  const apiBefore = process.cpuUsage();
  const machineBefore = machineTicks();
  const secs = await stack.runTasks(tasks, `round ${k}`);
  const workerCpu = procs.reduce((s, p, i) => s + cpuSeconds(p.pid as number) - (before[i] ?? 0), 0);
  const apiCpu = process.cpuUsage(apiBefore);
  const machineAfter = machineTicks();
  rounds.push({
    processes: k,
    tasks,
    rate: tasks / secs,
    workerCores: workerCpu / secs,
    apiCores: (apiCpu.user + apiCpu.system) / 1e6 / secs,
    machineBusy: (machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total),
  });
  await stopWorkerProcesses(procs);
}

const base = rounds[0]?.rate ?? 1;
console.log(
  `fake latency ${LATENCY_MS} ms, concurrency ${CONCURRENCY} per worker process, ${cores} cores; ` +
    'API + fake model + driver in one process',
);
console.log(
  'processes  tasks/s  vs ideal linear  vs latency bound  worker CPU (cores)  API+fake CPU (cores)  machine busy',
);
for (const r of rounds) {
  const ideal = base * (r.processes / (rounds[0]?.processes ?? 1));
  const bound = (r.processes * CONCURRENCY * 1000) / LATENCY_MS;
  console.log(
    `${String(r.processes).padStart(9)}  ${r.rate.toFixed(0).padStart(7)}  ${(r.rate / ideal).toFixed(2).padStart(15)}  ` +
      `${(r.rate / bound).toFixed(2).padStart(16)}  ${r.workerCores.toFixed(2).padStart(18)}  ${r.apiCores.toFixed(2).padStart(20)}` +
      `  ${(r.machineBusy * 100).toFixed(0).padStart(11)}%`,
  );
}
// CPU-bound: the machine's cores were (nearly) all busy — by orchex or by anything else running beside it.
const busy = rounds.find((r) => r.machineBusy >= 0.9);
console.log(
  busy
    ? `CPU-bound from ${busy.processes} processes: the machine was ${(busy.machineBusy * 100).toFixed(0)}% busy ` +
        `(orchex ${(busy.workerCores + busy.apiCores).toFixed(2)} of ${cores} cores)`
    : `not CPU-bound up to ${rounds.at(-1)?.processes} processes`,
);

console.log(`end: ${loadAverage()}`);
await stack.close();
process.exit(0);
