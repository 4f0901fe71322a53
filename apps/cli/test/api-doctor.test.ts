import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { type PrivateRedis, startPrivateRedis } from '../../../test/support/private-redis.ts';
import { startSystem, TEST_API_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import type { CliIo } from '../src/cli-io.ts';
import type { DoctorCheck } from '../src/doctor-report.ts';
import { runCli } from '../src/run-cli.ts';

// `orchex doctor` as the installed CLI runs it (no serverDoctor: no server code), against a real API.
async function doctor(env: Record<string, string | undefined>, json = true) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env,
  };
  const code = await runCli(['node', 'orchex', 'doctor', ...(json ? ['--json'] : [])], io);
  const status = (name: string) =>
    json ? (JSON.parse(stdout) as { checks: DoctorCheck[] }).checks.find((c) => c.name === name)?.status : undefined;
  return { code, stdout, stderr, status };
}

let sys: TestSystem;
let redis: PrivateRedis;
beforeAll(async () => {
  // A private Redis, so one test can stop it under the running API.
  redis = await startPrivateRedis();
  sys = await startSystem('api-doctor', { redisUrl: redis.url, workers: false });
});
afterAll(async () => {
  await sys?.close();
  await redis?.stop();
});

describe('orchex doctor (installed CLI: asks the API)', () => {
  it('a healthy API, Redis, Postgres and an accepted key: exit 0, every check ok', async () => {
    const r = await doctor({ ORCHEX_URL: sys.url, ORCHEX_API_KEY: TEST_API_KEY });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { ok: boolean; checks: DoctorCheck[] };
    expect(out.ok).toBe(true);
    expect(out.checks.map((c) => [c.name, c.status])).toEqual([
      ['environment', 'ok'],
      ['api', 'ok'],
      ['redis', 'ok'],
      ['postgres', 'ok'],
      ['api key', 'ok'],
    ]);
    const human = await doctor({ ORCHEX_URL: sys.url, ORCHEX_API_KEY: TEST_API_KEY }, false);
    expect(human.stdout).toMatch(/✓ api +\S+ answers/);
    expect(human.stdout.trim().split('\n').at(-1)).toBe('ready');
  });

  it('a key the server does not know, or none: exit 1 naming ORCHEX_API_KEY (the API is still checked)', async () => {
    const wrong = await doctor({ ORCHEX_URL: sys.url, ORCHEX_API_KEY: 'not-a-valid-key-000000' });
    expect([wrong.code, wrong.status('api'), wrong.status('api key')]).toEqual([1, 'ok', 'fail']);
    expect(wrong.stdout).toContain("ORCHEX_API_KEY is not one of the server's ORCHEX_API_KEYS");
    const none = await doctor({ ORCHEX_URL: sys.url });
    expect([none.code, none.status('environment'), none.status('api'), none.status('api key')]).toEqual([
      1,
      'fail',
      'ok',
      'skip',
    ]);
  });

  it('no API at ORCHEX_URL, or not a URL: exit 1 with the reason, the rest skipped', async () => {
    const closed = await doctor({ ORCHEX_URL: `http://127.0.0.1:${await freePort()}`, ORCHEX_API_KEY: TEST_API_KEY });
    expect([closed.code, closed.status('api'), closed.status('redis')]).toEqual([1, 'fail', 'skip']);
    expect(closed.stdout).toMatch(/ECONNREFUSED.*is the API running\?/);
    const bad = await doctor({ ORCHEX_URL: 'localhost:3000', ORCHEX_API_KEY: TEST_API_KEY });
    expect([bad.code, bad.status('environment'), bad.status('api')]).toEqual([1, 'fail', 'skip']);
  });

  it('Redis down under a running API: the redis check fails with the API’s reason', async () => {
    await redis.kill();
    try {
      const r = await doctor({ ORCHEX_URL: sys.url, ORCHEX_API_KEY: TEST_API_KEY });
      expect([r.code, r.status('api'), r.status('redis'), r.status('postgres')]).toEqual([1, 'ok', 'fail', 'ok']);
      // /healthz says which dependency is down and no more (issue 9: never the driver's text or an address).
      expect(r.stdout).toContain('the API reports down');
      expect(r.stdout).not.toMatch(/ECONNREFUSED|Connection is closed|isn't writeable/);
    } finally {
      await redis.restart();
    }
  });
});
