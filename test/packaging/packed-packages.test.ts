import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/headless-browser.ts';
import { startSystem, TEST_API_KEY, type TestSystem } from '../support/start-system.ts';

// What a user gets from `npm pack`: the client and the CLI installed from their tarballs into plain projects outside
// the repo (no TypeScript, no tsx), run against a started system.
const root = fileURLToPath(new URL('../..', import.meta.url));
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const work = mkdtempSync(join(tmpdir(), 'orchex-packed-'));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function run(cmd: string, args: string[], cwd: string, env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      // Only what a user's shell would have: no REDIS_URL/DATABASE_URL, no NODE_OPTIONS (no TypeScript loader).
      { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: 120_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** A new empty project with a package.json of its own (so npm does not climb into another one). */
function project(name: string, pkg: Record<string, unknown> = {}): string {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, ...pkg }));
  return dir;
}

/** Every module specifier the JavaScript files of a directory import (static, re-export or dynamic). */
function importsOf(dir: string): Set<string> {
  const found = new Set<string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.js'))) {
    const text = readFileSync(join(dir, f), 'utf8');
    const patterns = [
      /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm, // import … from 'x', export … from 'x'
      /^\s*import\s*['"]([^'"]+)['"]/gm, // import 'x'
      /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g, // import('x')
    ];
    for (const re of patterns) for (const m of text.matchAll(re)) found.add(m[1] as string);
  }
  return found;
}

let sys: TestSystem;
let clientTgz: string;
let cliTgz: string;
beforeAll(async () => {
  // `npm pack` builds each package first (its prepack script).
  const packed = await run(
    'npm',
    ['pack', '-w', '@orchex/client', '-w', '@orchex/cli', '--pack-destination', work, '--json'],
    root,
  );
  expect(packed.code, packed.stderr).toBe(0);
  const files = (JSON.parse(packed.stdout) as Array<{ name: string; filename: string }>).map((p) => [
    p.name,
    join(work, p.filename),
  ]);
  clientTgz = Object.fromEntries(files)['@orchex/client'] as string;
  cliTgz = Object.fromEntries(files)['@orchex/cli'] as string;
  sys = await startSystem('packed');
}, 180_000);
afterAll(async () => {
  await sys?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('@orchex/client from its tarball', () => {
  let dir: string;
  beforeAll(async () => {
    dir = project('plain-js', { type: 'module' });
    // --offline: the client has no dependencies, so there is nothing to fetch.
    const install = await run('npm', ['install', '--offline', '--no-audit', '--no-fund', clientTgz], dir);
    expect(install.code, install.stderr).toBe(0);
  }, 120_000);

  it('is ESM JavaScript with declarations, no dependencies, and imports nothing (global fetch only)', () => {
    const installed = join(dir, 'node_modules/@orchex/client');
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(pkg.peerDependencies ?? {}).toEqual({});
    expect(pkg.type).toBe('module');
    expect(readdirSync(join(installed, 'dist'))).toEqual(expect.arrayContaining(['index.js', 'index.d.ts']));
    for (const spec of importsOf(join(installed, 'dist'))) expect(spec, 'a relative import').toMatch(/^\.\//);
    expect(readdirSync(join(dir, 'node_modules')).sort()).toEqual(['.package-lock.json', '@orchex']);
  });

  it('a plain Node script runs an example against a started system: new Orchestrator() from the environment', async () => {
    writeFileSync(
      join(dir, 'example.js'),
      `import { Orchestrator, ValidationError } from '@orchex/client';

const orchestrator = new Orchestrator(); // ORCHEX_URL and ORCHEX_API_KEY from the environment
const result = await orchestrator.execute({ prompt: 'Write a Python function to calculate fibonacci', taskType: 'code', maxTokens: 200 });
console.log(\`content: \${result.content}\`);
console.log(\`model: \${result.model} cost: \${result.cost > 0}\`);
const report = await orchestrator.getCostReport();
console.log(\`requests: \${report.totalRequests}\`);
try {
  await orchestrator.execute({ prompt: '' });
} catch (err) {
  console.log(\`invalid: \${err instanceof ValidationError} \${err.fields.map((f) => f.field).join(',')}\`);
}
`,
    );
    const r = await run(process.execPath, ['example.js'], dir, { ORCHEX_URL: sys.url, ORCHEX_API_KEY: TEST_API_KEY });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('content: fake answer from claude-test: Write a Python function');
    expect(r.stdout).toContain('model: claude-test cost: true');
    expect(r.stdout).toMatch(/requests: [1-9]\d*/);
    expect(r.stdout).toContain('invalid: true prompt');
  });

  it('its declarations type a TypeScript consumer that has no Node types (as in a browser)', async () => {
    writeFileSync(
      join(dir, 'consumer.ts'),
      `import { type Task, Orchestrator, type TaskResult } from '@orchex/client';
const orchestrator = new Orchestrator({ baseUrl: 'https://orchex.example', apiKey: 'key-from-your-login-0001' });
const task: Task = { prompt: 'hi', maxTokens: 10, fallbackChain: ['gpt-test'] };
export const pending: Promise<TaskResult> = orchestrator.execute(task);
// @ts-expect-error the declarations are real types, not any: a number is no prompt
export const wrong: Task = { prompt: 1 };
`,
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          lib: ['ES2022', 'DOM'],
          types: [],
        },
        files: ['consumer.ts'],
      }),
    );
    const r = await run(process.execPath, [tsc, '-p', '.'], dir);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('runs in a browser: Chromium loads its dist/ as ES modules and executes a task', async () => {
    const dist = join(dir, 'node_modules/@orchex/client/dist');
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      // The page and the modules are served as if from the API's origin, so the client's fetches to the real API are
      // same-origin (the API sends no CORS headers); every other request goes to the API itself.
      const html = `<!doctype html><script type="module">
        import { Orchestrator } from './index.js';
        // No process in a browser: the URL and key are passed.
        window.runTask = async (key) => {
          const r = await new Orchestrator({ baseUrl: location.origin, apiKey: key })
            .execute({ prompt: 'from a browser', fallbackChain: ['gpt-test'] });
          return { content: r.content, model: r.model, hasProcess: typeof globalThis.process };
        };
      </script>`;
      await page.route(`${sys.url}/packed-client/**`, (route) => {
        const file = new URL(route.request().url()).pathname.replace('/packed-client/', '');
        if (file === 'index.html') return route.fulfill({ contentType: 'text/html', body: html });
        return route.fulfill({ contentType: 'text/javascript', body: readFileSync(join(dist, file), 'utf8') });
      });
      await page.goto(`${sys.url}/packed-client/index.html`);
      await page.waitForFunction(() => 'runTask' in window);
      type RunTask = (key: string) => Promise<{ content: string; model: string; hasProcess: string }>;
      const result = await page.evaluate(
        (key) => (window as unknown as { runTask: RunTask }).runTask(key),
        TEST_API_KEY,
      );
      expect(result).toEqual({
        content: 'fake answer from gpt-test: from a browser',
        model: 'gpt-test',
        hasProcess: 'undefined',
      });
    } finally {
      await browser.close();
    }
  });
});

describe('@orchex/cli from its tarball', () => {
  let dir: string;
  beforeAll(async () => {
    dir = project('cli-user');
    // The CLI's one other dependency (commander) comes from npm's cache when it is there.
    const install = await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', clientTgz, cliTgz],
      dir,
    );
    expect(install.code, install.stderr).toBe(0);
  }, 120_000);

  it('installs compiled JavaScript with no server code: only the client and commander', () => {
    expect(
      readdirSync(join(dir, 'node_modules'))
        .filter((n) => !n.startsWith('.'))
        .sort(),
    ).toEqual(['@orchex', 'commander']);
    expect(readdirSync(join(dir, 'node_modules/@orchex')).sort()).toEqual(['cli', 'client']);
    const specs = [...importsOf(join(dir, 'node_modules/@orchex/cli/dist'))].filter((s) => !s.startsWith('./'));
    expect(specs.filter((s) => !s.startsWith('node:')).sort()).toEqual(['@orchex/client', 'commander']);
  });

  it('npx orchex submit --wait prints the answer; npx orchex doctor asks the running API', async () => {
    const env = { ORCHEX_URL: sys.url, ORCHEX_API_KEY: TEST_API_KEY };
    const submit = await run(
      'npx',
      ['orchex', 'submit', 'Write a fibonacci function', '--type', 'code', '--wait'],
      dir,
      env,
    );
    expect(submit.code, submit.stderr).toBe(0);
    expect(submit.stdout).toBe('fake answer from claude-test: Write a fibonacci function\n');
    expect(submit.stderr).toMatch(/succeeded\s+claude-test/);
    const doctor = await run('npx', ['orchex', 'doctor', '--json'], dir, env);
    expect(doctor.code, doctor.stderr).toBe(0);
    const report = JSON.parse(doctor.stdout) as { ok: boolean; checks: Array<{ name: string; status: string }> };
    expect(report.checks.map((c) => `${c.name}:${c.status}`)).toEqual([
      'environment:ok',
      'api:ok',
      'redis:ok',
      'postgres:ok',
      'api key:ok',
    ]);
  });
});
