import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { startSystem, TEST_API_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import type { CliIo } from '../src/cli-io.ts';
import { runCli } from '../src/run-cli.ts';

/** The CLI as in the checkout (doctor is the server's), with captured output. */
async function orchex(args: string[], env: Record<string, string | undefined>) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env,
  };
  const code = await runCli(['node', 'orchex', ...args], io, { serverDoctor: () => import('../src/doctor.ts') });
  return { code, stdout, stderr };
}

describe('ATLAS_PREFLIGHT and doctor beside a running orchex on the embedded database', () => {
  let sys: TestSystem;
  let env: Record<string, string | undefined>;
  let tasks: string;
  beforeAll(async () => {
    // As `npm start` with no DATABASE_URL: the API (and workers) own the PGlite folder.
    sys = await startSystem('preflight', { pglite: true });
    const { dataDir } = sys.database as unknown as { dataDir: string };
    env = {
      ORCHEX_URL: sys.url,
      ORCHEX_API_KEY: TEST_API_KEY,
      REDIS_URL: sys.redisUrl,
      ORCHEX_DATA_DIR: dataDir,
      ORCHEX_PREFIX: sys.prefix,
      ...Object.fromEntries(Object.entries(sys.env).filter(([k]) => k.endsWith('_BASE_URL') || k.endsWith('_API_KEY'))),
    };
    tasks = join(mkdtempSync(join(tmpdir(), 'orchex-preflight-')), 'tasks.jsonl');
    writeFileSync(tasks, '{"prompt": "one", "task_type": "code"}\n{"prompt": "two", "task_type": "simple"}\n');
  });
  afterAll(async () => sys?.close());

  it('doctor asks the running API about the embedded database instead of opening its folder', async () => {
    const r = await orchex(['doctor', '--json'], env);
    const checks = JSON.parse(r.stdout) as { checks: Array<{ name: string; status: string; detail: string }> };
    const postgres = checks.checks.find((c) => c.name === 'postgres');
    expect(postgres).toMatchObject({ status: 'ok' });
    expect(postgres?.detail).toMatch(/as the running API sees it: ok/);
    expect(checks.checks.find((c) => c.name === 'migrations')?.status).toBe('ok');
  });

  it('ATLAS_PREFLIGHT=1 runs doctor before batch run: a problem stops it before anything is submitted', async () => {
    const down = { ...env, ATLAS_PREFLIGHT: '1', REDIS_URL: `redis://127.0.0.1:${await freePort()}` };
    const r = await orchex(['batch', 'run', tasks], down);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/✗ redis/);
    expect(r.stderr).toContain('ATLAS_PREFLIGHT: doctor found a problem');
    expect(r.stdout).toBe('');
  });

  it('ATLAS_PREFLIGHT=1 with a healthy setup: doctor passes and the batch runs', async () => {
    const r = await orchex(['batch', 'run', tasks], { ...env, ATLAS_PREFLIGHT: '1' });
    expect(r.stderr).toMatch(/✓ redis/);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
  }, 60_000);
});
