/**
 * `npm run bench:report`: seeds 1,000,000 attempts (and the cost_rollups rows they imply) into a fresh database,
 * then times the cost report and the CostAnalyzer — as queries and through the HTTP API — and, as the baseline
 * measured in the same run, the same report computed straight from the attempts table.
 *
 * Env: DATABASE_URL (server to create the throwaway database on; default postgres://postgres@127.0.0.1:5432/test),
 * REDIS_URL (the API needs it; default redis://127.0.0.1:6379), BENCH_ATTEMPTS (default 1000000), BENCH_RUNS
 * (default 50), BENCH_KEEP=1 (keep the database for EXPLAIN; its URL is printed).
 */
import { performance } from 'node:perf_hooks';
import { loadKeyId, startApi } from '@orchex/api/start';
import { analyzeCosts, defaultBaselineModel, loadConfig, modelRates, silentLogger } from '@orchex/core';
import { costByModel, costReport, createDatabase, recentTasks, runMigrations } from '@orchex/db';
import { type SQL, sql } from 'drizzle-orm';
import { freshDatabase } from '../test/support/fresh-database.ts';

const ATTEMPTS = Number(process.env.BENCH_ATTEMPTS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 50);
/** Five attempts per task (steps 0–4), like tasks that retried or fell back. */
const TASKS = Math.ceil(ATTEMPTS / 5);
/** History spread over this many UTC days, so the default 30-day report reads a third of it. */
const DAYS = 90;
/** Connections that seed in parallel. */
const POOL = 4;
const KEYS = Array.from({ length: 10 }, (_, i) => `bench-client-key-${String(i).padStart(4, '0')}`);
const ADMIN_KEY = 'bench-admin-key-000001';

const baseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const config = loadConfig(undefined);
const models = Object.entries(config.models).map(([name, m]) => ({ name, provider: m.provider, ...modelRates(m) }));

const fresh = await freshDatabase(baseUrl, 'bench_report');
const database = await createDatabase({ url: fresh.url, poolSize: POOL });
const { db } = database;

function stats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99) };
}

async function time(label: string, runs: number, fn: () => Promise<unknown>) {
  await fn(); // warm-up: plan cache, buffer cache
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  const { p50, p99 } = stats(ms);
  return { label, runs, p50, p99 };
}

try {
  await runMigrations(database);
  const keyId = await loadKeyId(database.db); // the API started below finds and uses the same secret
  const t0 = performance.now();
  // Set-based seeding: one INSERT … SELECT generate_series per table. Task ids are md5-derived UUIDs and times are
  // functions of the task number, so attempts need no join to find their task; prices are the configured ones.
  const created = (n: SQL) =>
    sql`now() - interval '10 minutes' - make_interval(days => (${n} % ${DAYS})::int, secs => (${n} % 86000)::int)`;
  await db.execute(sql`
    insert into tasks (id, api_key_id, status, task_type, prompt, params, plan, routing_reason, created_at)
    select md5('task' || n)::uuid,
           (${sql.raw(`array[${KEYS.map((k) => `'${keyId(k)}'`).join(',')}]`)})[1 + (n / ${DAYS}) % ${KEYS.length}],
           'succeeded',
           (array['code','research','analysis','creative','simple','long_context', null])[1 + (n / ${DAYS * KEYS.length}) % 7],
           'bench', '{"maxTokens":1024}'::jsonb, '[]'::jsonb, 'bench', ${created(sql`n`)}
    from generate_series(0, ${TASKS - 1}) as n`);
  console.log(`  tasks inserted at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const modelRows = sql.join(
    models.map(
      (m, i) => sql`(${i}::int, ${m.name}::text, ${m.provider}::text, ${m.input}::bigint, ${m.output}::bigint)`,
    ),
    sql`, `,
  );
  const insertAttempts = (lo: number, hi: number) =>
    db.execute(sql`
    with m(i, name, provider, rin, rout) as (values ${modelRows}),
         s as (select n, n / ${TASKS} as step, n % ${TASKS} as task_n,
                      200 + (n * 7919) % 4000 as tin, 50 + (n * 104729) % 1500 as tout
               from generate_series(${lo}::bigint, ${hi - 1}) as n)
    insert into attempts (task_id, step, attempt, model, provider, outcome, input_tokens, output_tokens, cost_micros,
                          latency_ms, started_at, finished_at)
    select md5('task' || s.task_n)::uuid, s.step, 1, m.name, m.provider,
           case when s.n % 23 = 0 then 'failed' else 'succeeded' end, s.tin, s.tout,
           case when s.n % 23 = 0 then 0 else ceil((s.tin * m.rin + s.tout * m.rout) / 1e6)::bigint end, 500,
           ${created(sql`s.task_n`)} + make_interval(mins => s.step::int),
           ${created(sql`s.task_n`)} + make_interval(mins => s.step::int, secs => 1)
    from s join m on m.i = abs(hashtext(s.n::text)) % ${models.length}`);
  // One slice per pooled connection: index maintenance and FK checks are per row, so parallel slices seed faster.
  const slice = Math.ceil(ATTEMPTS / POOL);
  await Promise.all(
    Array.from({ length: POOL }, (_, i) => insertAttempts(i * slice, Math.min(ATTEMPTS, (i + 1) * slice))),
  );
  console.log(`  attempts inserted at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // The rollup exactly as recordAttempt keeps it (UTC day of the attempt), built from the attempts themselves.
  await db.execute(sql`
    insert into cost_rollups (day, api_key_id, model, provider, task_type, requests, failed, input_tokens, output_tokens, cost_micros)
    select (a.finished_at at time zone 'utc')::date, t.api_key_id, a.model, a.provider, coalesce(t.task_type, ''), count(*),
           count(*) filter (where a.outcome = 'failed'), sum(a.input_tokens), sum(a.output_tokens), sum(a.cost_micros)
    from attempts a join tasks t on t.id = a.task_id
    group by 1, 2, 3, 4, 5`);
  await db.execute(
    sql`update tasks t set cost_micros = s.c from (select task_id, sum(cost_micros) c from attempts group by 1) s where s.task_id = t.id`,
  );
  console.log(`  rollups and task costs at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await db.execute(sql`analyze`);
  const seedS = (performance.now() - t0) / 1000;
  const { rows: counts } = await db.execute<{ attempts: string; rollups: string; a_cost: string; r_cost: string }>(sql`
    select (select count(*) from attempts) as attempts, (select count(*) from cost_rollups) as rollups,
           (select sum(cost_micros) from attempts) as a_cost, (select sum(cost_micros) from cost_rollups) as r_cost`);
  const c = counts[0]!;
  if (c.a_cost !== c.r_cost) throw new Error(`rollups disagree with attempts: ${c.r_cost} vs ${c.a_cost}`);
  console.log(
    `seeded ${Number(c.attempts).toLocaleString()} attempts (${TASKS.toLocaleString()} tasks, ${KEYS.length} keys, ${DAYS} days) and ${Number(c.rollups).toLocaleString()} rollup rows in ${seedS.toFixed(1)} s`,
  );

  const today = new Date().toISOString().slice(0, 10);
  const dayAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
  const last30 = { from: dayAgo(29), to: today };
  const all = { from: dayAgo(DAYS), to: today };
  const oneKey = keyId(KEYS[0]!);
  const baseline = defaultBaselineModel(config);

  const api = await startApi({
    config,
    db,
    redisUrl,
    prefix: `bench-report-${process.pid}`,
    logger: silentLogger,
    apiKeys: KEYS,
    adminKey: ADMIN_KEY,
    port: 0,
    host: '127.0.0.1',
  });
  const get =
    (path: string, key = ADMIN_KEY) =>
    async () => {
      const res = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return res.json();
    };

  const results = [];
  results.push(
    await time('report, all keys, 30 days, by model (query)', RUNS, () =>
      costReport(db, { ...last30, groupBy: 'model' }),
    ),
  );
  results.push(
    await time('report, all keys, 30 days, by day (query)', RUNS, () => costReport(db, { ...last30, groupBy: 'day' })),
  );
  results.push(
    await time('report, all keys, 90 days, by task_type (query)', RUNS, () =>
      costReport(db, { ...all, groupBy: 'task_type' }),
    ),
  );
  results.push(
    await time('report, one key, 30 days, by provider (query)', RUNS, () =>
      costReport(db, { ...last30, apiKeyId: oneKey, groupBy: 'provider' }),
    ),
  );
  results.push(
    await time('analysis, all keys, 30 days (query)', RUNS, async () =>
      analyzeCosts(await costByModel(db, last30), config, baseline),
    ),
  );
  results.push(
    await time('analysis, all keys, 90 days (query)', RUNS, async () =>
      analyzeCosts(await costByModel(db, all), config, baseline),
    ),
  );
  const keyIds = [...KEYS, ADMIN_KEY].map(keyId);
  results.push(
    await time('dashboard recent tasks, 20 of all keys (query)', RUNS, () =>
      recentTasks(db, { limit: 20, apiKeyIds: keyIds }),
    ),
  );
  results.push(await time('GET /v1/costs/report (admin, default range)', RUNS, get('/v1/costs/report')));
  results.push(
    await time('GET /v1/costs/report?group_by=day (one key)', RUNS, get('/v1/costs/report?group_by=day', KEYS[0])),
  );
  results.push(await time('GET /v1/costs/analysis (admin, default range)', RUNS, get('/v1/costs/analysis')));
  // Baseline: the same 30-day per-model report summed from attempts ⋈ tasks, as it would be without the rollup.
  const direct = await time('baseline: 30-day report from attempts (query)', Math.min(RUNS, 10), () =>
    db.execute(sql`
      select a.model, count(*), sum(a.input_tokens), sum(a.output_tokens), sum(a.cost_micros)
      from attempts a join tasks t on t.id = a.task_id
      where a.finished_at >= ${last30.from}::date and a.finished_at < ${today}::date + 1
      group by grouping sets ((a.model), ())`),
  );
  await api.close();

  console.log(
    `\n${'measurement'.padEnd(52)} ${'runs'.padStart(5)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)} ${'× faster than baseline (p50)'.padStart(30)}`,
  );
  for (const r of [...results, direct]) {
    const ratio = r === direct ? '1.0' : (direct.p50 / r.p50).toFixed(1);
    console.log(
      `${r.label.padEnd(52)} ${String(r.runs).padStart(5)} ${r.p50.toFixed(2).padStart(9)} ${r.p99.toFixed(2).padStart(9)} ${ratio.padStart(30)}`,
    );
  }
  const p50s = results.map((r) => r.p50);
  console.log(
    `\nreport/analysis p50 between ${Math.min(...p50s).toFixed(2)} and ${Math.max(...p50s).toFixed(2)} ms (target ≤ 100 ms)`,
  );
} finally {
  await database.close();
  if (process.env.BENCH_KEEP) console.log(`kept ${fresh.url}`);
  else await fresh.drop();
}
