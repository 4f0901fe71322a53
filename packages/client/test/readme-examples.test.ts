import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { faults } from '@orchex/providers/fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, TEST_ADMIN_KEY, TEST_API_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import { testConfig } from '../../../test/support/test-config.ts';

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
    // The seed's model names, so its fallback chain runs as written; claude-opus refuses (401) to show the fallback.
    const seedModel = (name: string, provider: string, input: number, output: number) => ({
      provider,
      model_id: name,
      input_cost_per_1k: input,
      output_cost_per_1k: output,
      max_tokens: 200_000,
      rpm: 6000,
      max_concurrency: 50,
    });
    sys = await startSystem('readme', {
      config: testConfig({
        models: {
          'claude-opus': seedModel('claude-opus', 'anthropic', 0.015, 0.075),
          'gpt-4': seedModel('gpt-4', 'openai', 0.03, 0.06),
          'claude-sonnet': seedModel('claude-sonnet', 'anthropic', 0.003, 0.015),
        },
      }),
    });
    sys.fake.setDefault('claude-opus', faults.unauthorized());
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
    expect(stdout).toMatch(/Cost: \$0\.\d{4}\nModel used: \S+/);
    expect(stdout).toMatch(/claude-test fake answer from claude-test: Write a Python function/);
    expect(stdout).toMatch(/Total requests: \d+/);
    expect(stdout).toMatch(/claude-test: \$\d+\.\d{2}/);
    expect(stdout).toContain('Answered by gpt-4 after 2 attempt(s)');
    expect(stdout).toContain("[ 'claude-test', 'gpt-test', 'claude-test' ]");
    expect(stdout).toMatch(/Within budget: \$0\.\d{4}/);
    expect(stdout).toMatch(/claude-test: fake answer from claude-test/);
    expect(stdout).toMatch(
      /Cost Analysis Report\n=+\nTotal Spent: \$\d+\.\d{2}\nPotential Cost \(all gpt-test\): \$\d+\.\d{2}/,
    );
    expect(stdout).toMatch(/- Claude: \d+\.\d%\n- GPT: \d+\.\d%/);
    expect(stdout).toMatch(/Optimization Score: \d+\/100/);
  }, 180_000);
});
