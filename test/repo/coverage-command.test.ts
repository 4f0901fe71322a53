import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, inject, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'orchex-coverage-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

// The README's `npm run coverage`, narrowed to one small test file and written to a temp dir instead of coverage/.
it('npm run coverage writes an HTML report that counts the code the tests ran', async () => {
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      'npm',
      ['run', 'coverage', '--', 'packages/core/test/route.test.ts', `--coverage.reportsDirectory=${out}`],
      {
        cwd: root,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          REDIS_URL: inject('redisUrl'),
          DATABASE_URL: inject('databaseUrl'),
        },
        timeout: 120_000,
      },
      (err, o, e) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout: o, stderr: e }),
    );
  });
  expect(code, stderr).toBe(0);
  expect(stdout).toMatch(/Statements\s*:\s*[\d.]+%/);
  expect(existsSync(join(out, 'index.html'))).toBe(true);
  // route.ts is what the test exercises: its page exists and shows lines run (V8 counts, e.g. "12x").
  const page = readFileSync(join(out, 'packages/core/src/route.ts.html'), 'utf8');
  expect(page).toMatch(/class="cline-any cline-yes">\d+x</);
}, 150_000);
