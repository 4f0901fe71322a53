/**
 * Scaling out: throughput with 1, 2 and 4 worker processes at a fixed concurrency each, against a fake model that
 * takes 200 ms per call, so each process could at best do concurrency / 0.2 s tasks per second. Prints tasks/s, the
 * ratio to ideal linear scaling (k × the 1-process rate, measured in the same run), the ratio to the latency bound,
 * and the CPU the processes used (cores busy out of the machine's), which shows where the machine runs out.
 *
 *   API, fake model and this driver: one process; workers: `apps/worker/src/main.ts` child processes, as deployed.
 *   Needs REDIS_URL and DATABASE_URL.
 *   BENCH_PROCESSES=1,2,4 BENCH_CONCURRENCY=32 BENCH_SECONDS=6 BENCH_LATENCY_MS=200 npm run bench:scale
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApi } from '@orchex/api/start';
import { parseConfig, silentLogger } from '@orchex/core';
import { createDatabase, runMigrations } from '@orchex/db';
import { fakeProviderEnv, startFakeLlmServer } from '@orchex/providers/fake';
import { sql } from 'drizzle-orm';
import { freshDatabase } from '../test/support/fresh-database.ts';

const PROCESSES = (process.env.BENCH_PROCESSES ?? '1,2,4').split(',').map(Number);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 200);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const baseDb = process.env.DATABASE_URL;
if (!baseDb) throw new Error('bench:scale needs DATABASE_URL (Postgres)');
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const source = {
  orchestrator: { default_model: 'bench-model', timeout: 30 },
  models: {
    'bench-model': {
      provider: 'openai',
      model_id: 'bench-model',
      input_cost_per_1k: 0.001,
      output_cost_per_1k: 0.002,
      max_tokens: 100_000,
      rpm: 10_000_000,
      max_concurrency: 10_000,
    },
  },
};
const config = parseConfig(source);
const configPath = join(tmpdir(), `orchex-bench-scale-${process.pid}.json`);
writeFileSync(configPath, JSON.stringify(source));

const fake = await startFakeLlmServer();
fake.setDefault('bench-model', { type: 'ok', latencyMs: LATENCY_MS });
const fresh = await freshDatabase(baseDb, 'bench_scale');
const database = await createDatabase({ url: fresh.url, poolSize: 10 });
await runMigrations(database);
const prefix = `bench-scale-${randomBytes(3).toString('hex')}`;
const key = 'bench-client-key-000001';
const api = await startApi({
  config,
  db: database.db,
  redisUrl,
  prefix,
  logger: silentLogger,
  apiKeys: [key],
  adminKey: undefined,
  port: 0,
  host: '127.0.0.1',
});
const workerEnv = {
  ...process.env,
  ...fakeProviderEnv(fake.url),
  REDIS_URL: redisUrl,
  DATABASE_URL: fresh.url,
  ORCHEX_PREFIX: prefix,
  ORCHEX_CONFIG: configPath,
  LOG_LEVEL: 'warn',
};

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

/** Busy and total CPU time of the whole machine (every process, other users' too), from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0); // idle + iowait
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

async function startWorkerProcesses(n: number): Promise<ChildProcess[]> {
  const procs = Array.from({ length: n }, () =>
    spawn(process.execPath, ['--import', 'tsx', 'apps/worker/src/main.ts', '--concurrency', String(CONCURRENCY)], {
      cwd: ROOT,
      env: { ...workerEnv, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve, reject) => {
          let out = '';
          p.stdout?.on('data', (d: Buffer) => {
            out += d.toString();
            if (out.includes('"worker started"')) resolve();
          });
          p.once('exit', (code) => reject(new Error(`worker exited (${code}) before it started`)));
        }),
    ),
  );
  return procs;
}

async function stopWorkerProcesses(procs: ChildProcess[]): Promise<void> {
  await Promise.all(
    procs.map((p) => {
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      return gone;
    }),
  );
}

const post = (path: string, body: unknown) =>
  fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** Submits `n` tasks as batches of 500 and resolves when all have succeeded; returns the seconds it took. */
async function run(n: number, label: string): Promise<number> {
  const ids: string[] = [];
  const t = performance.now();
  for (let i = 0; i < n; i += 500) {
    const tasks = Array.from({ length: Math.min(500, n - i) }, (_, j) => ({
      prompt: `${label} ${i + j}`,
      max_tokens: 16,
    }));
    const res = await post('/v1/batches', { tasks });
    if (res.status !== 202) throw new Error(`submit failed: ${res.status} ${await res.text()}`);
    ids.push(((await res.json()) as { id: string }).id);
  }
  for (;;) {
    const done = await database.db.execute<{ n: number }>(
      sql`select count(*)::int as n from tasks where status = 'succeeded' and batch_id in ${ids}`,
    );
    if (Number(done.rows[0]?.n) >= n) return (performance.now() - t) / 1000;
    await new Promise((r) => setTimeout(r, 25));
  }
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
  const procs = await startWorkerProcesses(k);
  // Each round runs about SECONDS at the latency bound: k × concurrency calls every LATENCY_MS.
  const bound = (k * CONCURRENCY * 1000) / LATENCY_MS;
  await run(Math.ceil(bound), `warm-up ${k}`); // JIT, connections and pools warm before measuring
  const tasks = Math.ceil(bound * SECONDS);
  const before = procs.map((p) => cpuSeconds(p.pid as number));
  const apiBefore = process.cpuUsage();
  const machineBefore = machineTicks();
  const secs = await run(tasks, `round ${k}`);
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

await api.close();
await database.close();
await fake.close();
await fresh.drop();
process.exit(0);
