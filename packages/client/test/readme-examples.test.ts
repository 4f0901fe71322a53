import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { faults } from '@orchex/providers/fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startSystem, TEST_ADMIN_KEY, TEST_API_KEY, type TestSystem } from '../../../test/support/start-system.ts';

const root = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
const EXAMPLES = root('examples/readme-examples.ts');

/** The `// #region name` … `// #endregion` blocks of the examples file, trimmed. */
function regions(): Map<string, string> {
  const text = readFileSync(EXAMPLES, 'utf8');
  return new Map(
    [...text.matchAll(/\/\/ #region (\S+)\n([\s\S]*?)\/\/ #endregion/g)].map((m) => [
      m[1] as string,
      (m[2] as string).trim(),
    ]),
  );
}

/** The ```ts blocks of a Markdown file, trimmed. */
function tsBlocks(path: string): string[] {
  return [...readFileSync(path, 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => (m[1] as string).trim());
}

describe('README examples', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    // The seed's own atlas_config.yaml, verbatim. Its names stand for current models (claude-opus → claude-opus-5-5,
    // gpt-4 → gpt-5.5, …): the fake answers as those model ids. claude-opus refuses (401) to show the fallback.
    sys = await startSystem('readme', {
      configSource: parseYaml(readFileSync(root('config/atlas_config.yaml'), 'utf8')) as Record<string, unknown>,
      // rpm 60 per model (the seed's default) counted over 1 s windows, so 100 tasks do not wait minutes.
      workers: { limitWindowMs: 1000 },
    });
    sys.fake.setDefault('claude-opus-5-5', faults.unauthorized());
  });
  afterAll(async () => sys?.close());

  it('docs/client.md shows every example region verbatim (and README.md, once it carries them)', () => {
    const r = regions();
    expect([...r.keys()]).toEqual([
      'basic-usage',
      'intelligent-routing',
      'cost-tracking',
      'fallback-chains',
      'parallel-execution',
      'cost-budget',
      'context-window-management',
      'cost-analysis',
    ]);
    const docs = tsBlocks(root('docs/client.md'));
    for (const [name, code] of r) expect(docs, `docs/client.md lacks region ${name}`).toContain(code);
    // Every client example in the README must be one of the tested regions.
    const readme = root('README.md');
    if (existsSync(readme)) {
      const known = new Set(r.values());
      for (const block of tsBlocks(readme).filter((b) => /orchestrator|@orchex\/client/.test(b))) {
        expect(
          known.has(block),
          `README.md block differs from examples/readme-examples.ts:\n${block.slice(0, 200)}`,
        ).toBe(true);
      }
    }
  });

  it('run as written against a started system', async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', EXAMPLES],
        {
          env: {
            PATH: process.env.PATH,
            ORCHEX_URL: sys.url,
            ORCHEX_API_KEY: TEST_API_KEY,
            ORCHEX_ADMIN_KEY: TEST_ADMIN_KEY,
          },
          timeout: 150_000,
        },
        (err, out, errOut) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout: out, stderr: errOut }),
      );
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    // "explanation" has no rule: the short prompt is classified simple → the seed's gpt-3.5-turbo.
    expect(stdout).toMatch(/Cost: \$0\.\d{4}\nModel used: gpt-3\.5-turbo/);
    // code → the seed's claude-sonnet-4, which stands for the current Sonnet (the model id the fake answers as).
    expect(stdout).toMatch(/claude-sonnet-4 fake answer from claude-sonnet-5: Write a Python function/);
    expect(stdout).toMatch(/Total requests: \d+/);
    expect(stdout).toMatch(/claude-sonnet-4: \$\d+\.\d{2}/);
    // The seed's chain ['claude-opus', 'gpt-4', 'claude-sonnet']: claude-opus refuses, gpt-4 answers.
    expect(stdout).toContain('Answered by gpt-4 after 2 attempt(s)');
    // analysis has no rule in the seed's file: the default model.
    expect(stdout).toContain("[ 'claude-sonnet-4', 'gpt-4', 'claude-sonnet-4' ]");
    expect(stdout).toMatch(/Within budget: \$0\.\d{4}/);
    expect(stdout).toMatch(/claude-sonnet-4: fake answer from claude-sonnet-5/);
    expect(stdout).toMatch(
      /Cost Analysis Report\n=+\nTotal Spent: \$\d+\.\d{2}\nPotential Cost \(all gpt-4\): \$\d+\.\d{2}/,
    );
    expect(stdout).toMatch(/- Claude: \d+\.\d%\n- GPT-4: \d+\.\d%\n- GPT-3\.5: \d+\.\d%/);
    expect(stdout).toMatch(/Optimization Score: \d+\/100/);
  }, 180_000);
});
