/**
 * Where one task's time goes: a per-stage breakdown of the whole path, one task at a time (no queueing), over
 * BENCH_SAMPLES tasks after a warm-up. The API and a worker run in this process against the fake model server
 * (zero latency); every stage is timed from outside the product code — the pg and ioredis clients' query methods,
 * the budget, limiter and queue classes' methods, and fetch to the fake — so the numbers are what the path costs,
 * not what it reports about itself. Printed: each stage's median start (ms after the POST began) and median
 * duration, the process's CPU and wall time per task, and beside them a direct SDK call to the same fake.
 *
 *   Needs REDIS_URL and DATABASE_URL.   BENCH_SAMPLES=200 npm run bench:stages
 */
import { createLanguageModel } from '@orchex/providers';
import { KeyBudgets, ModelQueues } from '@orchex/queue';
import { Redis } from 'ioredis';
import pg from 'pg';
import { BENCH_MODEL } from './support/bench-config.ts';
import { loadAverage } from './support/load-average.ts';
import { startBenchStack } from './support/start-bench-stack.ts';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);

/** Spans of the task being traced: [start, end, stage]; null between samples. */
let spans: Array<[number, number, string]> | null = null;
const now = () => performance.now();
function timed<T>(stage: string | undefined, run: () => T): T {
  const out = run();
  const mine = spans;
  if (!mine || !stage || !(out instanceof Promise)) return out;
  const s = now();
  out.then(
    () => mine.push([s, now(), stage]),
    () => {},
  );
  return out;
}
function wrap(proto: object, method: string, stage: string): void {
  const target = proto as Record<string, (...a: unknown[]) => unknown>;
  const original = target[method]!;
  target[method] = function (this: unknown, ...args: unknown[]) {
    return timed(stage, () => original.apply(this, args));
  };
}

const sqlStage = (text: string): string | undefined => {
  const t = text.replace(/\s+/g, ' ').trim();
  if (t.startsWith('insert into "tasks"')) return 'submit: insert task row';
  if (t.startsWith('update "tasks" set "status"') && t.includes('jsonb_to_recordset'))
    return 'worker: claim task (Postgres: read + mark running)';
  if (t.startsWith('with v as') && t.includes('insert into "attempts"'))
    return 'worker: record attempt + result (Postgres)';
  if (t.startsWith('select') && t.includes('from "tasks"') && t.includes('"tasks"."id" ='))
    return 'api: read task (GET)';
  return undefined;
};
const poolQuery = pg.Pool.prototype.query as unknown as (...a: unknown[]) => unknown;
(pg.Pool.prototype as unknown as { query: unknown }).query = function (this: pg.Pool, ...args: unknown[]) {
  const text = typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string })?.text ?? '');
  const cb = typeof args.at(-1) === 'function' ? (args.pop() as (e: unknown, r?: unknown) => void) : undefined;
  const out = timed(sqlStage(text), () => poolQuery.apply(this, args) as Promise<unknown>);
  if (!cb) return out;
  out.then(
    (r) => cb(null, r),
    (e) => cb(e),
  );
  return undefined;
};
const sendCommand = Redis.prototype.sendCommand as unknown as (...a: unknown[]) => unknown;
(Redis.prototype as unknown as { sendCommand: unknown }).sendCommand = function (this: Redis, ...args: unknown[]) {
  const cmd = args[0] as { name: string; promise: Promise<unknown> };
  const out = sendCommand.apply(this, args);
  if (spans && cmd.name === 'publish') timed('worker: announce (PUBLISH)', () => cmd.promise);
  return out;
};
// On one Redis the hold and the slot are one script, and so are the settle and the slot's release.
wrap(KeyBudgets.prototype, 'reserveWithSlot', 'worker: budget hold + limiter slot (Redis)');
wrap(KeyBudgets.prototype, 'settleWithSlot', 'worker: budget settle + slot release (Redis)');
wrap(ModelQueues.prototype, 'enqueueStep', 'submit: add job (BullMQ)');
wrap(ModelQueues.prototype, 'enqueueMany', 'submit: add job (BullMQ)');

const stack = await startBenchStack('stages', 0);
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) =>
  timed(String(input).startsWith(stack.fake.url) ? 'worker: model call (SDK → fake)' : undefined, () =>
    realFetch(input, init),
  );
// The worker runs in this process, so the patched clients and classes above time its stages too.
const pool = await stack.startWorkersHere(8);
const model = createLanguageModel(BENCH_MODEL, stack.model, stack.fakeEnv);

/** One task, traced: its spans relative to the POST's start, plus the two HTTP exchanges. */
async function trace(i: number): Promise<Array<[number, number, string]>> {
  spans = [];
  const mine = spans;
  const t0 = now();
  const posted = await stack.post('/v1/tasks', { prompt: `stage ${i}`, max_tokens: 16 });
  const { id } = (await posted.json()) as { id: string };
  const t1 = now();
  await (await stack.get(`/v1/tasks/${id}?wait=30`)).json();
  const t2 = now();
  spans = null;
  const out = mine.map(([s, e, l]) => [s - t0, e - t0, l] as [number, number, string]);
  const announced = out.find(([, , l]) => l.startsWith('worker: announce'));
  out.push([0, t1 - t0, 'client: POST /v1/tasks answered']);
  if (announced) out.push([announced[1], t2 - t0, 'api: wake, read, answer the GET ?wait']);
  out.push([0, t2 - t0, 'total: submit + wait']);
  return out;
}

for (let i = 0; i < 30; i++) await trace(i); // warm-up: JIT, pools, scripts loaded
const byStage = new Map<string, { starts: number[]; durations: number[] }>();
const direct: number[] = [];
// The process's CPU over the samples: everything of a task runs here, so CPU per task beside wall time per task says
// whether a lone task waits (on round trips, WAL flushes) or computes.
const cpu0 = process.cpuUsage();
const wall0 = now();
for (let i = 0; i < SAMPLES; i++) {
  // The first occurrence of each stage per task (a GET's second read is the one after the wake-up).
  const seen = new Set<string>();
  for (const [s, e, stage] of (await trace(1000 + i)).sort((a, b) => a[0] - b[0])) {
    if (seen.has(stage)) continue;
    seen.add(stage);
    const entry = byStage.get(stage) ?? { starts: [], durations: [] };
    entry.starts.push(s);
    entry.durations.push(e - s);
    byStage.set(stage, entry);
  }
  const s = now();
  await model.doGenerate({ prompt: 'direct', maxOutputTokens: 16 });
  direct.push(now() - s);
}

const cpu = process.cpuUsage(cpu0);
const cpuPerTask = (cpu.user + cpu.system) / 1000 / SAMPLES;
const wallPerTask = (now() - wall0) / SAMPLES;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
console.log(`one task at a time, ${SAMPLES} samples, ${loadAverage()}`);
console.log('stage                                         starts at   takes   (medians, ms)');
const rows = [...byStage].sort((a, b) => median(a[1].starts) - median(b[1].starts));
for (const [stage, { starts, durations }] of rows)
  console.log(
    `${stage.padEnd(45)} ${median(starts).toFixed(2).padStart(9)} ${median(durations).toFixed(2).padStart(7)}`,
  );
console.log(
  `per task (its direct call included): CPU of this process ${cpuPerTask.toFixed(1)} ms, wall ${wallPerTask.toFixed(1)} ms`,
);
console.log(
  `${'direct SDK call to the same fake'.padEnd(45)} ${''.padStart(9)} ${median(direct).toFixed(2).padStart(7)}`,
);

await pool.close(5000);
await stack.close();
process.exit(0);
