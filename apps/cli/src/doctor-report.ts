import { type CliIo, EXIT } from './cli-io.ts';

/** How one preflight check ended; `skip` = could not be checked because an earlier one failed. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** One line of `orchex doctor`. */
export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  detail: string;
}

const MARK: Record<CheckStatus, string> = { ok: '✓', warn: '!', fail: '✗', skip: '-' };

/** Prints the checks (one line each, or `{ ok, checks }` with --json) and returns exit 1 when any failed. */
export function printDoctorReport(checks: DoctorCheck[], o: { json?: boolean }, io: CliIo): number {
  const ok = !checks.some((c) => c.status === 'fail');
  if (o.json) io.stdout.write(`${JSON.stringify({ ok, checks }, null, 2)}\n`);
  else {
    const width = Math.max(...checks.map((c) => c.name.length));
    for (const c of checks) io.stdout.write(`${MARK[c.status]} ${c.name.padEnd(width)}  ${c.detail}\n`);
    io.stdout.write(ok ? 'ready\n' : 'problems found\n');
  }
  return ok ? EXIT.ok : EXIT.failed;
}
