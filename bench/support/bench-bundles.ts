import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundles } from '../../scripts/build-bundles.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let built: Promise<string> | undefined;

/**
 * The folder of this bench run's compiled bundles: what `npm run build` makes (the worker runs as deployed, under
 * plain node), plus `raw-worker.js`, the baseline, compiled the same way so that neither side pays a TypeScript
 * loader. Built once per process into a temporary folder of its own (a bench running beside `npm start` must not
 * rebuild its dist/), with the checkout's node_modules linked into it; removed when the process exits.
 */
export function benchBundles(): Promise<string> {
  built ??= (async () => {
    const out = mkdtempSync(join(tmpdir(), 'orchex-bench-build-'));
    process.once('exit', () => rmSync(out, { recursive: true, force: true }));
    symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'));
    await buildBundles(join(out, 'dist'), { 'raw-worker': 'bench/support/raw-worker.ts' });
    return join(out, 'dist');
  })();
  return built;
}
