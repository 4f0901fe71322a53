import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// Not import.meta.dirname: Node 20 before 20.11 (engines allows any 20) lacks it.
const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Every process orchex runs in production, bundled into `outdir` as plain ESM JavaScript, so they start without a
 * TypeScript loader. Our own code (the workspace packages, whose exports are .ts sources) is bundled; npm
 * dependencies stay imports, resolved from node_modules at run time, so node_modules must be found from `outdir`.
 * `extra`: more entries (name → source), bundled the same way — the benches' raw baseline worker, which must run as
 * compiled as the worker it is compared with.
 */
export async function buildBundles(outdir: string, extra: Record<string, string> = {}): Promise<void> {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<
    string,
    Record<string, string>
  >;
  const external = Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies });

  rmSync(outdir, { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints: {
      start: 'scripts/start.ts',
      demo: 'scripts/demo.ts',
      api: 'apps/api/src/main.ts',
      // request-planner.ts starts its threads from this file, beside the bundle that imports it.
      'plan-thread': 'apps/api/src/plan-thread.ts',
      worker: 'apps/worker/src/main.ts',
      migrate: 'packages/db/src/migrate-cli.ts',
      cli: 'apps/cli/src/main.ts',
      'fake-llm': 'packages/providers/src/fake/main.ts',
      ...extra,
    },
    outdir,
    bundle: true,
    // Shared code in chunks, so that the CLI still loads its server doctor (and its drivers) only when asked to.
    // Chunks sit beside the entries: code that finds files from import.meta.url sees dist/ wherever it lands.
    splitting: true,
    chunkNames: 'chunk-[hash]',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external,
    logLevel: 'warning',
  });

  // Files the code reads at run time, copied where the compiled code looks for them (see each one's import.meta.url).
  cpSync(join(root, 'packages/db/drizzle'), join(outdir, 'drizzle'), { recursive: true });
  for (const page of ['dashboard', 'docs']) {
    const notSource = (path: string) => !path.endsWith('.ts');
    cpSync(join(root, 'apps/api/src', page), join(outdir, page), { recursive: true, filter: notSource });
  }
}
