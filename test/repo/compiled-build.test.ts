import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type FakeLlmServer, fakeProviderEnv, startFakeLlmServer } from '@orchex/providers/fake';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ApiProcess, spawnApi } from '../support/api-process.ts';
import { freePort } from '../support/free-port.ts';
import { type FreshDatabase, freshDatabase } from '../support/fresh-database.ts';
import { TEST_ADMIN_KEY, TEST_API_KEY } from '../support/start-system.ts';
import { testConfigSource } from '../support/test-config.ts';
import { spawnWorker, type WorkerProcess } from '../support/worker-process.ts';

// What production runs: `npm run build`, then the compiled migrations, API (with its planner thread), worker and CLI
// under plain node, with no TypeScript loader. The build goes to a folder of its own, so that a test running
// `npm start` meanwhile may rebuild dist/; the checkout's node_modules is linked into it, as dist/ finds it.
const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'orchex-build-'));
const entry = (name: string) => join(out, name);

let fake: FakeLlmServer;
let db: FreshDatabase;
let env: Record<string, string>;
let api: ApiProcess;
let worker: WorkerProcess;
let workerPort: number;

beforeAll(async () => {
  const build = run('npm', ['run', 'build', '--', out], { cwd: root });
  [fake, db] = await Promise.all([startFakeLlmServer(), freshDatabase(inject('databaseUrl'), 'compiled-build')]);
  const configPath = join(mkdtempSync(join(tmpdir(), 'orchex-cfg-')), 'orchex.json');
  writeFileSync(configPath, JSON.stringify(testConfigSource()));
  env = {
    ...fakeProviderEnv(fake.url),
    REDIS_URL: inject('redisUrl'),
    DATABASE_URL: db.url,
    ORCHEX_PREFIX: `t-compiled-${process.pid}`,
    ORCHEX_CONFIG: configPath,
    ORCHEX_API_KEYS: TEST_API_KEY,
    ORCHEX_ADMIN_KEY: TEST_ADMIN_KEY,
  };
  await build;
  symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'));
}, 120_000);

afterAll(async () => {
  api?.proc.kill('SIGTERM');
  worker?.proc.kill('SIGTERM');
  await Promise.all([api?.exited, worker?.exited]);
  await Promise.all([fake?.close(), db?.drop()]);
  rmSync(out, { recursive: true, force: true });
});

describe('the compiled build', () => {
  it('migrates a fresh database from the migrations copied beside it', async () => {
    const migrate = await run(process.execPath, [entry('migrate.js')], { cwd: root, env: { ...process.env, ...env } });
    expect(migrate.stdout).toMatch(/applied \d+ migration\(s\)/);
  });

  it('starts the API and a worker, both ready', async () => {
    workerPort = await freePort();
    api = spawnApi(env, await freePort(), [entry('api.js')]);
    worker = spawnWorker(env, ['--metrics-port', String(workerPort)], [entry('worker.js')]);
    await Promise.all([api.ready, worker.ready]);
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    await expect.poll(async () => (await fetch(`http://127.0.0.1:${workerPort}/healthz`)).status).toBe(200);
  });

  it('plans a large body on the planner thread, and the worker completes the task', async () => {
    // Over INLINE_BODY_BYTES (4 KB): planned on a thread, whose entry must be in the build.
    const res = await fetch(`${api.url}/v1/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'word '.repeat(2000), fallback_chain: ['gpt-test'], max_tokens: 50 }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    // The compiled CLI, as an operator runs it, reads the task back.
    const got = await run(process.execPath, [entry('cli.js'), 'wait', id, '--json'], {
      cwd: root,
      env: { ...process.env, ORCHEX_URL: api.url, ORCHEX_API_KEY: TEST_API_KEY },
    });
    expect(JSON.parse(got.stdout)).toMatchObject({ id, status: 'succeeded' });
  });

  it('serves the files the build copied: API docs and the dashboard', async () => {
    expect((await fetch(`${api.url}/docs`)).status).toBe(200);
    const auth = `Basic ${Buffer.from(`admin:${TEST_ADMIN_KEY}`).toString('base64')}`;
    const page = await fetch(`${api.url}/dashboard/`, { headers: { authorization: auth } });
    expect(page.status).toBe(200);
  });
});
