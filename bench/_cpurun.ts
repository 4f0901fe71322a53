// TEMP (not committed): rounds of N tasks through one worker process; machine CPU ms per task from /proc/stat.
import { readFileSync } from 'node:fs';
import { startBenchStack } from './support/start-bench-stack.ts';
import { startWorkerProcesses, stopWorkerProcesses } from './support/worker-process.ts';
const N = Number(process.env.N ?? 4000), C = Number(process.env.C ?? 200), R = Number(process.env.R ?? 3);
const cpu = () => { const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number); const idle = f[3]! + f[4]!; const all = f.reduce((a, b) => a + b, 0); return (all - idle) * 10; };
const stack = await startBenchStack('cpurun', 0);
const procs = await startWorkerProcesses(1, C, stack.workerEnv);
await stack.runTasks(1000, 'warm');
const out: string[] = [];
for (let r = 0; r < R; r++) {
  const c0 = cpu(); const t0 = performance.now();
  const s = await stack.runTasks(N, `r${r}`);
  const c1 = cpu(); const wall = (performance.now() - t0) / 1000;
  out.push(`${(N / s).toFixed(0)} tasks/s, cpu ${((c1 - c0) / N).toFixed(2)} ms/task (busy ${((c1 - c0) / 1000 / wall / 2 * 100).toFixed(0)}%)`);
}
// lone latency
const lat: number[] = [];
for (let i = 0; i < 100; i++) { const s = performance.now(); const res = await stack.post('/v1/tasks', { prompt: `l ${i}`, max_tokens: 16 }); const { id } = (await res.json()) as { id: string }; await (await stack.get(`/v1/tasks/${id}?wait=30`)).text(); lat.push(performance.now() - s); }
lat.sort((a, b) => a - b);
await stopWorkerProcesses(procs); await stack.close();
console.log(out.join(' | ') + ` | lone p50 ${lat[50]!.toFixed(1)} p99 ${lat[98]!.toFixed(1)}`);
process.exit(0);
