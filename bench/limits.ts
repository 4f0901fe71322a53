/**
 * Rate-limit fidelity: one model at RPM requests per minute and IN_FLIGHT concurrent calls, 1 s fake latency,
 * 3 worker processes, DURATION seconds of saturation. Prints the share of the allowed rate used, the worst
 * 60-second window against the limit, and the peak in flight. Baseline: the limit itself (what a perfect limiter
 * would allow in the same run). Needs REDIS_URL and DATABASE_URL (Postgres: the workers are separate processes).
 *
 *   npm run bench:limits            # 120 rpm, 10 in flight, 120 s
 *   BENCH_DURATION_S=60 npm run bench:limits   # whole minutes
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApi } from '@orchex/api/start';
import { parseConfig, silentLogger } from '@orchex/core';
import { createDatabase, runMigrations } from '@orchex/db';
import { fakeProviderEnv, startFakeLlmServer } from '@orchex/providers/fake';
import { freshDatabase } from '../test/support/fresh-database.ts';

const RPM = 120;
const IN_FLIGHT = 10;
const WORKERS = 3;
// Whole minutes: in k windows a perfect sliding-window limiter allows exactly k × RPM starts.
const DURATION_S = 60 * Math.max(1, Math.round(Number(process.env.BENCH_DURATION_S ?? 120) / 60));
const LATENCY_MS = 1000;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const baseDb = process.env.DATABASE_URL;
if (!baseDb)
  throw new Error('bench:limits needs DATABASE_URL (Postgres), e.g. postgres://postgres@127.0.0.1:5432/test');

const fresh = await freshDatabase(baseDb, 'bench');
const dbUrl = new URL(fresh.url);
const database = await createDatabase({ url: dbUrl.toString() });
await runMigrations(database);

const source = {
  orchestrator: { default_model: 'bench-model', timeout: 30 },
  models: {
    'bench-model': {
      provider: 'openai',
      model_id: 'bench-model',
      input_cost_per_1k: 0.001,
      output_cost_per_1k: 0.002,
      max_tokens: 100_000,
      rpm: RPM,
      max_concurrency: IN_FLIGHT,
    },
  },
};
const configPath = join(mkdtempSync(join(tmpdir(), 'orchex-bench-')), 'config.json');
writeFileSync(configPath, JSON.stringify(source));
const config = parseConfig(source);
const fake = await startFakeLlmServer();
fake.setDefault('*', { type: 'ok', latencyMs: LATENCY_MS });
const prefix = `bench-${randomBytes(3).toString('hex')}`;
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
const env = {
  ...process.env,
  ...fakeProviderEnv(fake.url),
  REDIS_URL: redisUrl,
  DATABASE_URL: dbUrl.toString(),
  ORCHEX_PREFIX: prefix,
  ORCHEX_CONFIG: configPath,
  LOG_LEVEL: 'warn',
};
const workers = Array.from({ length: WORKERS }, () =>
  spawn(process.execPath, ['--import', 'tsx', 'apps/worker/src/main.ts', '--concurrency', '20'], {
    env,
    stdio: 'ignore',
  }),
);

// Enough work to keep the model saturated for the whole run.
const total = Math.ceil((RPM * DURATION_S) / 60) + RPM;
console.log(
  `submitting ${total} tasks; ${WORKERS} workers; ${RPM} rpm, ${IN_FLIGHT} in flight, ${LATENCY_MS} ms latency, ${DURATION_S} s`,
);
for (let i = 0; i < total; i += 100) {
  await Promise.all(
    Array.from({ length: Math.min(100, total - i) }, (_, j) =>
      fetch(`${api.url}/v1/tasks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: `bench ${i + j}`, max_tokens: 16 }),
      }),
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
console.log(`peak in flight: ${fake.peakInFlight('bench-model')} (limit ${IN_FLIGHT})`);

for (const w of workers) w.kill('SIGKILL');
await api.close();
await fake.close();
await database.close();
await fresh.drop();
process.exit(0);
