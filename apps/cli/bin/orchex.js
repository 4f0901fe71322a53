#!/usr/bin/env node
// The installed `orchex` command (`npx orchex …`): the CLI compiled to dist/ by `npm pack` (or `npm run build`), which
// talks to the API only. In the orchex checkout, `npm run orchex -- …` runs the TypeScript source without a build.
let runCli;
try {
  ({ runCli } = await import('../dist/run-cli.js'));
} catch (err) {
  // Only our own missing build gets the hint; a missing dependency (a broken install) keeps Node's own message.
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/run-cli.js')) throw err;
  process.stderr.write(
    'orchex: the CLI is not built: run `npm run build -w @orchex/cli` (in the orchex checkout: `npm run build`, then `npm run orchex -- …`)\n',
  );
  process.exit(2);
}
process.exitCode = await runCli(process.argv, { stdout: process.stdout, stderr: process.stderr, env: process.env });
