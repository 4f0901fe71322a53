/**
 * Start time and idle memory of the API and a worker process: through tsx (`tsx apps/…/src/main.ts`, what
 * start:api and start:worker ran before issue 15) and compiled (`node dist/….js`, what they run now). Start time is
 * from spawn until /healthz answers 200 (the API's; the worker's on its --metrics-port, ready once its queues are);
 * idle RSS is the sum over the process and its children (the tsx CLI runs the program in a child node) after
 * BENCH_IDLE_SECONDS. Prints the median of BENCH_RUNS runs, variants interleaved so that load hits both alike.
 *
 *   Needs REDIS_URL and DATABASE_URL, and a build: `npm run build && npm run bench:start`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase, runMigrations } from '@orchex/db';
import { freePort } from '../test/support/free-port.ts';
import { freshDatabase } from '../test/support/fresh-database.ts';
import { loadAverage } from './support/load-average.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 5);
const baseDb = process.env.DATABASE_URL;
if (!baseDb) throw new Error('bench:start needs DATABASE_URL (Postgres)');
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = join(ROOT, 'node_modules/.bin/tsx');

const fresh = await freshDatabase(baseDb, 'bench_start');
const database = await createDatabase({ url: fresh.url });
await runMigrations(database);
await database.close();
const env = {
  ...process.env,
  DATABASE_URL: fresh.url,
  ORCHEX_PREFIX: `bench-start-${process.pid}`,
  ORCHEX_API_KEYS: 'bench-client-key-000001',
  LOG_LEVEL: 'warn',
};

interface Variant {
  name: string;
  /** Command and arguments, given a free port. */
  command(port: number): [string, string[]];
  /** Environment it needs besides the shared one, given the same port. */
  env(port: number): Record<string, string>;
}
const variants: Variant[] = [
  { name: 'api, tsx', command: () => [TSX, ['apps/api/src/main.ts']], env: (port) => ({ PORT: String(port) }) },
  { name: 'api, compiled', command: () => ['node', ['dist/api.js']], env: (port) => ({ PORT: String(port) }) },
  {
    name: 'worker, tsx',
    command: (port) => [TSX, ['apps/worker/src/main.ts', '--metrics-port', String(port)]],
    env: () => ({}),
  },
  {
    name: 'worker, compiled',
    command: (port) => ['node', ['dist/worker.js', '--metrics-port', String(port)]],
    env: () => ({}),
  },
];

/** RSS in MB of pid and all its descendants (Linux /proc). */
function treeRssMb(pid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended while being listed.
    }
  }
  let kb = 0;
  const visit = (p: number) => {
    kb += Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    for (const c of children.get(p) ?? []) visit(c);
  };
  visit(pid);
  return kb / 1024;
}

async function untilHealthy(url: string, proc: ChildProcess): Promise<void> {
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`exited with ${proc.exitCode} before it was ready`);
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function measure(v: Variant): Promise<{ startMs: number; rssMb: number }> {
  const port = await freePort();
  const [cmd, args] = v.command(port);
  const started = performance.now();
  const proc = spawn(cmd, args, { cwd: ROOT, env: { ...env, ...v.env(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await untilHealthy(`http://127.0.0.1:${port}/healthz`, proc);
    const startMs = performance.now() - started;
    await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    return { startMs, rssMb: treeRssMb(proc.pid as number) };
  } finally {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
}

const results = new Map<string, Array<{ startMs: number; rssMb: number }>>();
for (let run = 0; run < RUNS; run++) {
  for (const v of variants) results.set(v.name, [...(results.get(v.name) ?? []), await measure(v)]);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
console.log(`${RUNS} runs each, idle ${IDLE_SECONDS} s; ${loadAverage()}`);
console.log('| process | start → /healthz 200 (median) | idle RSS (median) |');
console.log('| --- | --- | --- |');
for (const [name, rs] of results) {
  const start = median(rs.map((r) => r.startMs));
  const rss = median(rs.map((r) => r.rssMb));
  console.log(`| ${name} | ${Math.round(start)} ms | ${rss.toFixed(0)} MB |`);
}
await fresh.drop();
