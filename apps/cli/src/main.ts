#!/usr/bin/env tsx
import { runCli } from './run-cli.ts';

/** `orchex …` (npm run orchex -- …): see run-cli.ts. */
process.exitCode = await runCli(process.argv, { stdout: process.stdout, stderr: process.stderr, env: process.env });
