import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchBundles } from './bench-bundles.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** BENCH_WORKER_NODE_ARGS: extra node flags for each worker, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile. */
const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);

/**
 * Starts the worker as deployed — its compiled bundle under plain node (benchBundles) — one process per worker;
 * resolves once each logged "worker started".
 */
export async function startWorkerProcesses(
  n: number,
  concurrency: number,
  env: NodeJS.ProcessEnv,
): Promise<ChildProcess[]> {
  const worker = join(await benchBundles(), 'worker.js');
  const procs = Array.from({ length: n }, () =>
    spawn(process.execPath, [...nodeArgs, worker, '--concurrency', String(concurrency)], {
      cwd: ROOT,
      // info: the start line is how we know it is serving.
      env: { ...env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve, reject) => {
          let out = '';
          const onData = (d: Buffer) => {
            out += d.toString();
            if (out.includes('"worker started"')) {
              p.stdout?.off('data', onData);
              p.stdout?.resume(); // keep draining the pipe, or the worker blocks once its buffer fills
              resolve();
            }
          };
          p.stdout?.on('data', onData);
          p.once('exit', (code) => reject(new Error(`worker exited (${code}) before it started`)));
        }),
    ),
  );
  return procs;
}

/** SIGTERM (drain) and wait for each to exit. */
export async function stopWorkerProcesses(procs: ChildProcess[]): Promise<void> {
  await Promise.all(
    procs.map((p) => {
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      return gone;
    }),
  );
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}
