import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BatchProgress } from '@orchex/client';
import { batches } from '@orchex/db';
import { faults } from '@orchex/providers/fake';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freshDatabase } from '../../../test/support/fresh-database.ts';
import { startSystem, TEST_ADMIN_KEY, TEST_API_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import type { CliIo } from '../src/cli-io.ts';
import { ProgressReporter, renderProgress } from '../src/progress-bar.ts';
import { runCli } from '../src/run-cli.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI as users run it: its own process (tsx), its own environment. */
function orchex(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      { env: { PATH: process.env.PATH, ...env }, timeout: 90_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The CLI in this process (faster), with captured output; as in the checkout (main.ts), doctor is the server's. */
async function inProcess(args: string[], env: Record<string, string | undefined>): Promise<Run> {
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

async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

let sys: TestSystem;
let dir: string;
let env: Record<string, string>;
beforeAll(async () => {
  sys = await startSystem('cli');
  // llama-test always answers 401: tasks planned only on it fail.
  sys.fake.setDefault('llama-test', faults.unauthorized());
  dir = await mkdtemp(join(tmpdir(), 'orchex-cli-'));
  env = { ORCHEX_URL: sys.url, ORCHEX_API_KEY: TEST_API_KEY };
});
afterAll(async () => {
  await sys?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const batchCount = async () =>
  (await sys.database.db.select({ n: sql<number>`count(*)::int` }).from(batches))[0]?.n ?? 0;

describe('orchex batch run', () => {
  it('writes every result in input order and exits 0; plain progress lines when not a TTY', async () => {
    const lines = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify(
        i % 2
          ? { prompt: `line task ${i}`, task_type: 'code', max_tokens: 50 }
          : { prompt: `line task ${i}`, taskType: 'research', maxTokens: 50 },
      ),
    );
    lines.splice(10, 0, ''); // a blank line is skipped, and line numbers still count it
    const file = join(dir, 'tasks.jsonl');
    const out = join(dir, 'results.jsonl');
    await writeFile(file, `${lines.join('\n')}\n`);
    const r = await orchex(['batch', 'run', file, '--out', out, '--name', 'cli-test'], env);
    expect(r.stderr).toMatch(/batch [0-9a-f-]{36}: 30 tasks submitted/);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/progress: 100% 30\/30 done, 0 failed, \$\d+\.\d{4}, [\d.]+\/s, done/);
    expect(r.stderr).toMatch(/30 tasks: 30 succeeded, 0 failed, 0 cancelled/);
    expect(r.stderr).not.toContain('\r');
    const results = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            line: number;
            index: number;
            status: string;
            content: string;
            model: string;
            cost: number;
          },
      );
    expect(results).toHaveLength(30);
    expect(results.map((x) => x.index)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(results.map((x) => x.line)).toEqual(Array.from({ length: 30 }, (_, i) => (i < 10 ? i + 1 : i + 2)));
    for (const x of results) {
      expect(x.status).toBe('succeeded');
      expect(x.content).toContain(`line task ${x.index}`);
      expect(x.model).toBe(x.index % 2 ? 'claude-test' : 'gpt-test');
    }
  });

  it('a bad line is reported with its line number, nothing is submitted, exit 2', async () => {
    const before = await batchCount();
    const file = join(dir, 'bad.jsonl');
    await writeFile(
      file,
      ['{"prompt": "fine"}', '{"prompt": "also fine"}', '{"prompt": "broken",', '[1, 2]', '{"prompt": "fine"}'].join(
        '\n',
      ),
    );
    const r = await orchex(['batch', 'run', file], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:3: not valid JSON`);
    expect(r.stderr).toContain(`${file}:4: must be a JSON object`);
    expect(r.stderr).toContain('nothing was submitted');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
    expect(await batchCount()).toBe(before);
  });

  it('a line the API refuses is named by its line number (blank lines counted), nothing submitted', async () => {
    const before = await batchCount();
    const file = join(dir, 'invalid.jsonl');
    await writeFile(
      file,
      ['{"prompt": "a"}', '', '{"prompt": "b", "max_tokens": -1}', '{"prompt": "c", "task_type": "two words!"}'].join(
        '\n',
      ),
    );
    const r = await inProcess(['batch', 'run', file], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:line 3: max_tokens: must be at least 1`);
    expect(r.stderr).toMatch(new RegExp(`${file}:line 4: task_type: must be a word`));
    expect(await batchCount()).toBe(before);
  });

  it('--json: the summary parses; a failed task gives exit 1 with every result still written', async () => {
    const file = join(dir, 'mixed.jsonl');
    const out = join(dir, 'mixed-results.jsonl');
    await writeFile(
      file,
      ['{"prompt": "ok one", "task_type": "code"}', '{"prompt": "fails", "fallback_chain": ["llama-test"]}'].join('\n'),
    );
    const r = await inProcess(['--json', 'batch', 'run', file, '-o', out], env);
    expect(r.code).toBe(1);
    const summary = JSON.parse(r.stdout) as {
      total: number;
      succeeded: number;
      failed: number;
      written: number;
      batch_id: string;
    };
    expect(summary).toMatchObject({ total: 2, succeeded: 1, failed: 1, written: 2 });
    const results = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { status: string; error: { kind: string } | null });
    expect(results.map((x) => x.status)).toEqual(['succeeded', 'failed']);
    expect(results[1]?.error?.kind).toBe('auth');

    const status = await inProcess(['batch', 'status', summary.batch_id, '--json'], env);
    expect(JSON.parse(status.stdout)).toMatchObject({
      id: summary.batch_id,
      status: 'completed',
      counts: { succeeded: 1, failed: 1 },
    });
  });
});

describe('orchex submit / get / wait / report / budget', () => {
  it('submit --wait prints the answer on stdout; --json output parses', async () => {
    const human = await inProcess(
      ['submit', 'Explain entanglement', '--type', 'code', '--max-tokens', '100', '--wait'],
      env,
    );
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('fake answer from claude-test');
    expect(human.stderr).toMatch(/succeeded {2}claude-test {2}\$0\.\d{4} {2}1 attempt/);

    const submitted = await inProcess(['submit', 'Summarise', '--type', 'research', '--json'], env);
    const s = JSON.parse(submitted.stdout) as { id: string; model: string };
    expect(s.model).toBe('gpt-test');
    const waited = await inProcess(['wait', s.id, '--json'], env);
    expect(JSON.parse(waited.stdout)).toMatchObject({ id: s.id, status: 'succeeded', model: 'gpt-test' });
    const got = await inProcess(['get', s.id, '--json'], env);
    const task = JSON.parse(got.stdout) as { attempts: unknown[] };
    expect(task.attempts).toHaveLength(1);
  });

  it('a failed task: exit 1, a clear message, no stack trace', async () => {
    const r = await orchex(['submit', 'will fail', '--fallback', 'llama-test', '--wait'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/orchex: task [0-9a-f-]{36} failed: auth: llama-test/);
    expect(r.stderr).toContain('step 0 attempt 1 llama-test: failed (auth');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('usage and environment problems exit 2; an unreachable API exits 1', async () => {
    expect((await inProcess(['submit', 'x', '--max-tokens', 'lots'], env)).code).toBe(2);
    const noKey = await inProcess(['get', 'abc'], { ORCHEX_URL: sys.url });
    expect([noKey.code, noKey.stderr]).toEqual([
      2,
      'orchex: ORCHEX_API_KEY is not set: export the API key the server accepts\n',
    ]);
    const invalid = await inProcess(['submit', ' '], env);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('prompt: must be a non-empty string');
    const down = await inProcess(['submit', 'x'], {
      ORCHEX_URL: `http://127.0.0.1:${await closedPort()}`,
      ORCHEX_API_KEY: TEST_API_KEY,
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach orchex at .*ECONNREFUSED/);
  });

  it('report --by model --json parses; the human table lists the models', async () => {
    const json = await inProcess(['report', '--by', 'model', '--json'], env);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as {
      totalRequests: number;
      costByModel: Record<string, number>;
      groupBy: string;
    };
    expect(report.groupBy).toBe('model');
    expect(report.totalRequests).toBeGreaterThan(0);
    expect(Object.keys(report.costByModel)).toContain('claude-test');
    const human = await inProcess(['report', '--by', 'task_type'], env);
    expect(human.stdout).toMatch(/Total requests: +\d+/);
    expect(human.stdout).toMatch(/Saved by the cache: +\$[\d.]+ \(\d+ cached answers\)/);
    expect(human.stdout).toMatch(/^code +\d+ +\$/m);
  });

  it('budget set: a client key sets its own budget, the admin key the global one; show reads each back', async () => {
    const own = await inProcess(['budget', 'set', '7', '--json'], env);
    expect(own.code).toBe(0);
    expect(JSON.parse(own.stdout)).toMatchObject({ scope: 'key', limit: 7 });
    expect((await inProcess(['budget', 'show'], env)).stdout).toMatch(/this key's \$7\.00\/day/);
    const set = await inProcess(['budget', 'set', '25', '--json'], { ...env, ORCHEX_ADMIN_KEY: TEST_ADMIN_KEY });
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ scope: 'global', limit: 25 });
    const admin = { ...env, ORCHEX_API_KEY: TEST_ADMIN_KEY };
    expect((await inProcess(['budget', 'show'], admin)).stdout).toMatch(/\$25\.00\/day/);
    expect((await inProcess(['budget', 'set', 'lots'], { ...env, ORCHEX_ADMIN_KEY: TEST_ADMIN_KEY })).code).toBe(2);
    const off = await inProcess(['budget', 'set', 'none', '--json'], { ...env, ORCHEX_ADMIN_KEY: TEST_ADMIN_KEY });
    expect(JSON.parse(off.stdout)).toMatchObject({ limit: null });
  });
});

describe('orchex doctor', () => {
  const doctorEnv = () => ({ ...sys.env, REDIS_URL: sys.redisUrl, DATABASE_URL: sys.databaseUrl });

  it('exits 0 on a healthy setup', async () => {
    const r = await orchex(['doctor', '--json'], doctorEnv());
    const out = JSON.parse(r.stdout) as { ok: boolean; checks: Array<{ name: string; status: string }> };
    expect(out.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(r.code).toBe(0);
    expect(out.ok).toBe(true);
    const status = Object.fromEntries(out.checks.map((c) => [c.name, c.status]));
    expect(status).toMatchObject({
      environment: 'ok',
      config: 'ok',
      redis: 'ok',
      postgres: 'ok',
      migrations: 'ok',
      'provider anthropic': 'ok',
    });
  });

  it('exits 1 with Redis unreachable, naming it', async () => {
    const r = await orchex(['doctor'], { ...doctorEnv(), REDIS_URL: `redis://127.0.0.1:${await closedPort()}` });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ redis .*ECONNREFUSED/);
    expect(r.stdout).toMatch(/✓ postgres/);
    expect(r.stdout).toContain('problems found');
  });

  it('reports pending migrations and a bad config as failures', async () => {
    const badConfig = join(dir, 'bad.yaml');
    await writeFile(badConfig, 'orchestrator:\n  default_model: nope\nmodels: {}\n');
    const r = await inProcess(['doctor', '--json'], { ...doctorEnv(), ORCHEX_CONFIG: badConfig });
    const out = JSON.parse(r.stdout) as { checks: Array<{ name: string; status: string; detail: string }> };
    expect(r.code).toBe(1);
    expect(out.checks.find((c) => c.name === 'config')).toMatchObject({ status: 'fail' });
    expect(out.checks.find((c) => c.name === 'providers')).toMatchObject({ status: 'skip' });

    const empty = await freshDatabase(inject('databaseUrl'), 'cli_unmigrated');
    try {
      const r2 = await inProcess(['doctor'], { ...doctorEnv(), DATABASE_URL: empty.url });
      expect(r2.code).toBe(1);
      expect(r2.stdout).toMatch(/✗ migrations +\d+ pending: run npm run db:migrate/);
    } finally {
      await empty.drop();
    }
  });
});

describe('progress bar', () => {
  const p = (done: number, failed = 0): BatchProgress => ({
    batchId: 'b',
    total: 200,
    done,
    succeeded: done - failed,
    failed,
    running: 4,
    cost: 0.01234,
  });

  it('renders done, failed, cost, rate and ETA', () => {
    expect(renderProgress(p(50, 2), 10_000)).toBe(
      '[██████░░░░░░░░░░░░░░░░░░]  25%  50/200 done · 2 failed · $0.0123 · 5.0/s · ETA 30s',
    );
    expect(renderProgress(p(200), 40_000, false)).toBe('progress: 100% 200/200 done, 0 failed, $0.0123, 5.0/s, done');
    expect(renderProgress(p(0), 0)).toContain('ETA —');
  });

  it('redraws in place on a TTY; plain lines at most every interval otherwise', () => {
    let tty = '';
    const onTty = new ProgressReporter({ isTTY: true, write: (s: string) => (tty += s) });
    onTty.update(p(10));
    onTty.update(p(20));
    onTty.update(p(200));
    expect(tty.split(`\r${String.fromCharCode(27)}[2K`)).toHaveLength(4);
    expect(tty.endsWith('\n')).toBe(true);
    let plain = '';
    const onFile = new ProgressReporter({ write: (s: string) => (plain += s) }, 60_000);
    onFile.update(p(10));
    onFile.update(p(20));
    onFile.update(p(200));
    expect(plain.split('\n').filter(Boolean)).toHaveLength(2); // the first and the last
    expect(plain).not.toContain('\r');
  });
});
