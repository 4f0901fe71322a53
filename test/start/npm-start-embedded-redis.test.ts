import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type FakeLlmServer, fakeProviderEnv, startFakeLlmServer } from '@orchex/providers/fake';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { probeRedisPort } from '../../scripts/embedded-redis/probe-redis-port.ts';
import { freePort } from '../support/free-port.ts';

// `npm start` as a user runs it, with REDIS_URL and DATABASE_URL unset: PGlite and a Redis of its own, both kept
// under one data dir. Ports are free ones (ORCHEX_REDIS_PORT), so the machine's Redis on 6379 is not involved.
const root = fileURLToPath(new URL('../..', import.meta.url));
const KEY = 'npm-start-key-00000001';
const data = mkdtempSync(join(tmpdir(), 'orchex-npm-start-'));

interface Orchex {
  proc: ChildProcess;
  lines: Array<Record<string, unknown>>;
  output: () => string;
  exited: Promise<number | null>;
  /** Resolves when every process of the run (npm, sh, orchex's node) has let go of stdout: all have ended. */
  allGone: Promise<void>;
}

let fake: FakeLlmServer;
let env: Record<string, string | undefined>;
let apiUrl: string;
let redisPort: number;
const started: Orchex[] = [];

/** `npm start` in its own process group (like a terminal's foreground job); resolves once it logs "orchex ready". */
async function npmStart(): Promise<Orchex> {
  const proc = spawn('npm', ['start'], { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const lines: Array<Record<string, unknown>> = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const allGone = new Promise<void>((resolve) => proc.stdout?.once('close', () => resolve()));
  const orchex = { proc, lines, output: () => text, exited, allGone };
  started.push(orchex);
  const onData = (d: Buffer) => {
    text += d.toString();
  };
  proc.stderr?.on('data', onData);
  await new Promise<void>((resolve, reject) => {
    let partial = '';
    proc.stdout?.on('data', (d: Buffer) => {
      onData(d);
      partial += d.toString();
      const complete = partial.split('\n');
      partial = complete.pop() ?? '';
      for (const l of complete) {
        if (!l.startsWith('{')) continue;
        const entry = JSON.parse(l) as Record<string, unknown>;
        lines.push(entry);
        if (entry.msg === 'orchex ready') resolve();
      }
    });
    void exited.then((code) => reject(new Error(`npm start exited (${code}) before it was ready:\n${text}`)));
    setTimeout(() => reject(new Error(`npm start not ready after 120 s:\n${text}`)), 120_000).unref();
  });
  return orchex;
}

/**
 * Ctrl-C: SIGINT to npm's whole process group (npm, sh and orchex's node get it; orchex's Redis, in a group of
 * its own, does not), then wait until all of them have ended.
 */
async function interrupt(orchex: Orchex): Promise<void> {
  process.kill(-(orchex.proc.pid as number), 'SIGINT');
  await orchex.allGone;
}

const logged = (o: Orchex, msg: string) => o.lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith(msg));
const running = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const call = (path: string, init: RequestInit = {}) =>
  fetch(`${apiUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...init.headers },
  });

beforeAll(async () => {
  fake = await startFakeLlmServer();
  redisPort = await freePort();
  const apiPort = await freePort();
  apiUrl = `http://127.0.0.1:${apiPort}`;
  // What a user's shell has: PATH and HOME, plus orchex's own variables. No REDIS_URL, no DATABASE_URL.
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...fakeProviderEnv(fake.url),
    ORCHEX_API_KEYS: KEY,
    PORT: String(apiPort),
    ORCHEX_REDIS_PORT: String(redisPort),
    ORCHEX_REDIS_DIR: join(data, 'redis'),
    ORCHEX_DATA_DIR: join(data, 'pglite'),
  };
});
afterAll(async () => {
  // Only if an assertion failed midway: nothing of ours may outlive the test.
  for (const o of started) {
    if (o.proc.exitCode === null) {
      try {
        process.kill(-(o.proc.pid as number), 'SIGKILL');
      } catch {}
    }
    for (const l of o.lines)
      if (typeof l.redisPid === 'number' && running(l.redisPid)) process.kill(l.redisPid, 'SIGKILL');
  }
  await fake?.close();
  rmSync(data, { recursive: true, force: true });
});

it('starts its own Redis, runs a task, keeps the task and Redis data across a restart, and leaves no Redis behind', async () => {
  expect(await probeRedisPort(redisPort)).toEqual({ state: 'free' });

  // First run: its own Redis on ORCHEX_REDIS_PORT, AOF under ORCHEX_REDIS_DIR.
  const first = await npmStart();
  const redis1 = logged(first, 'embedded Redis started');
  expect(redis1, first.output()).toMatchObject({ url: `redis://127.0.0.1:${redisPort}`, dir: join(data, 'redis') });
  const pid1 = redis1?.redisPid as number;
  expect(running(pid1)).toBe(true);

  const submitted = await call('/v1/tasks', {
    method: 'POST',
    body: JSON.stringify({ prompt: 'Write a Python function to calculate fibonacci', task_type: 'code' }),
  });
  expect(submitted.status).toBe(202);
  const { id } = (await submitted.json()) as { id: string };
  const done = (await (await call(`/v1/tasks/${id}?wait=30`)).json()) as { status: string; content: string };
  expect(done.status).toBe('succeeded');
  expect(done.content).toMatch(/^fake answer from \S+: Write a Python function/);
  // A key of our own in orchex's Redis, to see that Redis itself (not only Postgres) keeps what it was given.
  const client = new Redis(`redis://127.0.0.1:${redisPort}`);
  await client.set('npm-start-test:kept', id);
  client.disconnect();

  await interrupt(first);
  expect(logged(first, 'embedded Redis stopped'), first.output()).toBeDefined();
  expect(running(pid1)).toBe(false);
  expect(await probeRedisPort(redisPort)).toEqual({ state: 'free' });
  expect(readdirSync(join(data, 'redis', 'appendonlydir')).some((f) => f.endsWith('.manifest'))).toBe(true);
  expect(existsSync(join(data, 'pglite'))).toBe(true);

  // Second run on the same dirs: a new Redis process replays the AOF; PGlite reopens its files.
  const second = await npmStart();
  const pid2 = logged(second, 'embedded Redis started')?.redisPid as number;
  expect(pid2).not.toBe(pid1);
  const again = (await (await call(`/v1/tasks/${id}`)).json()) as { status: string; content: string };
  expect(again).toMatchObject({ status: 'succeeded', content: done.content });
  const client2 = new Redis(`redis://127.0.0.1:${redisPort}`);
  expect(await client2.get('npm-start-test:kept')).toBe(id);
  client2.disconnect();

  await interrupt(second);
  expect(logged(second, 'embedded Redis stopped'), second.output()).toBeDefined();
  expect(running(pid2), second.output()).toBe(false);
  expect(await probeRedisPort(redisPort)).toEqual({ state: 'free' });
}, 300_000);
