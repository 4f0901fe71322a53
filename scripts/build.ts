import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundles } from './build-bundles.ts';

/**
 * `npm run build`: every process orchex runs in production, bundled into dist/ (see buildBundles). Optional argument:
 * another output folder (from which node_modules must be found, as from dist/).
 */
const root = fileURLToPath(new URL('..', import.meta.url));
await buildBundles(resolve(root, process.argv[2] ?? 'dist'));
