import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CORE = fileURLToPath(new URL('../src/index.ts', import.meta.url));

// Run in a fresh process: this one (vitest's) may have loaded the encodings already, through other test files.
// The probe reports, after importing @orchex/core and after each estimate, the gpt-tokenizer modules loaded and the
// live heap (after a full GC) — the heap catches an eager load however it is written (ESM import or require).
const PROBE = `
const { createRequire } = await import('node:module');
const require = createRequire(${JSON.stringify(CORE)});
const state = () => {
  globalThis.gc();
  return {
    modules: Object.keys(require.cache).filter((k) => k.includes('gpt-tokenizer')).length,
    heapMb: process.memoryUsage().heapUsed / 2 ** 20,
  };
};
const before = state();
const core = await import(${JSON.stringify(CORE)});
const imported = state();
core.estimateInputTokens({ prompt: 'first estimate' }, { provider: 'openai', model_id: 'gpt-5.5' });
const firstUse = state();
core.estimateInputTokens({ prompt: 'second estimate' }, { provider: 'openai', model_id: 'gpt-4o' });
const secondUse = state();
console.log(JSON.stringify({ before, imported, firstUse, secondUse }));
`;

interface State {
  modules: number;
  heapMb: number;
}

function probe(): Promise<Record<'before' | 'imported' | 'firstUse' | 'secondUse', State>> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', '--input-type=module', '--eval', PROBE],
      { timeout: 60_000 },
      (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout))),
    ),
  );
}

describe('the tokenizer tables', () => {
  it('load on the first estimate, not on import, and once per process', { timeout: 60_000 }, async () => {
    const { before, imported, firstUse, secondUse } = await probe();
    // A process that never estimates an OpenAI task never pays for the tables.
    expect(imported.modules).toBe(0);
    // o200k_base is ~14 MB of live heap, loaded here; all of core's import costs less (~8 MB measured), which an
    // eager import of the table, ESM or CommonJS, would not.
    expect(firstUse.modules).toBeGreaterThan(0);
    expect(firstUse.heapMb - imported.heapMb).toBeGreaterThan(8);
    expect(imported.heapMb - before.heapMb).toBeLessThan(firstUse.heapMb - imported.heapMb);
    // gpt-4o shares gpt-5.5's encoding: the same tables, not a second copy.
    expect(secondUse.modules).toBe(firstUse.modules);
    expect(secondUse.heapMb - firstUse.heapMb).toBeLessThan(1);
  });
});
