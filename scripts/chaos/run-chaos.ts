import { chaosUsage, parseChaosOptions } from './chaos-options.ts';
import { formatChaosReport } from './chaos-report.ts';
import { checkInvariants } from './check-invariants.ts';
import { runChaosScenario } from './run-chaos-scenario.ts';

/**
 * `npm run chaos [-- --short] [-- --tasks N …]`: the fault drill of issue 9 on private Redis and Postgres
 * instances and real API/worker processes. Prints what happened and each invariant; exits 1 if one failed.
 */
let options: ReturnType<typeof parseChaosOptions>;
try {
  options = parseChaosOptions(process.argv.slice(2));
} catch (err) {
  console.error(`${(err as Error).message}\n\n${chaosUsage()}`);
  process.exit(2);
}
if (options === 'help') {
  console.log(chaosUsage());
  process.exit(0);
}

// Ctrl-C or a kill must still run the scenario's cleanup (its 'exit' hooks kill the processes it started): turning
// the signal into a normal exit makes Node run them.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping everything the drill started`);
    process.exit(130);
  });
}

const started = Date.now();
try {
  const report = await runChaosScenario(options, (line) => console.log(line));
  console.log(`\n${formatChaosReport(report)}\n`);
  const results = checkInvariants(report);
  for (const r of results) console.log(`${r.ok ? 'PASS' : 'FAIL'}  ${r.name}: ${r.detail}`);
  const failed = results.filter((r) => !r.ok).length;
  console.log(
    `\n${failed === 0 ? 'all invariants held' : `${failed} of ${results.length} invariants failed`} ` +
      `(${((Date.now() - started) / 1000).toFixed(1)} s in all)`,
  );
  process.exitCode = failed === 0 ? 0 : 1;
} catch (err) {
  console.error(`chaos drill could not run: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 2;
}
// Everything was stopped; exit even if a stray handle (a keep-alive socket to a dead API) would hold the loop open.
process.exit();
