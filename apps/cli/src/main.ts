import { runCli } from './run-cli.ts';

/**
 * `npm run orchex -- …` in the orchex checkout (compiled to dist/cli.js by `npm run build`). Its `doctor` checks this
 * machine's server setup; it is loaded on demand because it pulls in the server packages (database drivers, Redis),
 * which no other command needs and the installed CLI (bin/orchex.js) does not have.
 */
process.exitCode = await runCli(
  process.argv,
  { stdout: process.stdout, stderr: process.stderr, env: process.env },
  { serverDoctor: () => import('./doctor.ts') },
);
