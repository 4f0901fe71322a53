import type { ChaosReport } from './chaos-report.ts';

/** One invariant of the drill and whether it held. */
export interface InvariantResult {
  name: string;
  ok: boolean;
  /** The numbers it was decided on. */
  detail: string;
}

const usd = (micros: number) => `$${(micros / 1e6).toFixed(6)}`;

/**
 * The promises of orchex under faults (issue 9, DESIGN.md conventions 13–14). None is loosened for the faults the
 * drill injects beyond what a kill -9 makes unavoidable, and that allowance is computed from the fake servers'
 * request logs, not guessed.
 */
export function checkInvariants(r: ChaosReport): InvariantResult[] {
  const deadlineAt = r.lastRecoveryAtMs + r.options.endDeadlineMs;
  const endedInTime = r.tasks.unended === 0 && (r.tasks.lastEndedAtMs ?? 0) <= deadlineAt;

  // A 503 (with Retry-After) is the answer a client can act on while a dependency is down; any other 5xx is not.
  const serverErrors = Object.entries(r.http.byStatus).filter(([status]) => /^5\d\d$/.test(status) && status !== '503');
  const errorCount = serverErrors.reduce((n, [, v]) => n + v, 0);

  // Every task may call its model once; a call is made again only if a kill took its outcome away.
  const callBudget = r.tasks.inDatabase + r.calls.inFlightAtKills;

  // Spend. The provider bills every answer it delivered (HTTP 200 sent), priced here with orchex's own formula on
  // the usage the fake reported. An answer is *used* when it reached a live orchex process: it is paid for, so it
  // must be recorded as a successful attempt — even if Postgres was down when it arrived (convention 13). The only
  // answers not used are those handed to a worker in its last killGraceMs before a kill -9 that it did not record:
  // the dying process may never have read them. Answers are matched to attempt rows one to one (each scripted
  // answer has its own usage), so the check is exact: Σ attempts.cost_micros = Σ cost of the used answers. Less
  // means a paid answer was thrown away or an attempt row silently dropped; more means a cost recorded twice or
  // for an answer that was never delivered.
  const c = r.calls;
  const recorded = r.attempts.recordedMicros;
  const spendOk = recorded === c.usedMicros;

  // A drill whose faults hit an idle system proves nothing, so it must not pass.
  const idle = r.faultLoad.filter((f) => f.callsInFlight === 0 || f.submitsToCome === 0);

  return [
    {
      name: 'the drill hit a running system (calls in flight at every fault, submits during the outage)',
      ok: idle.length === 0 && r.faultLoad.length === r.options.workers + 2,
      detail: r.faultLoad
        .map(
          (f) =>
            `${f.fault}: ${f.callsInFlight} calls in flight` +
            (f.submitsToCome === undefined ? '' : `, ${f.submitsToCome} tasks still to submit`),
        )
        .join('; '),
    },
    {
      // Not one of issue 9's five numbers, but convention 13: an unreachable dependency means wait and retry. A
      // process that dies instead loses every call and answer it held; the drill restarts it (so the other checks
      // still say something), and the calls it held are not part of any kill's allowance.
      name: 'no orchex process crashed',
      ok: r.crashes.length === 0,
      detail:
        r.crashes.length === 0
          ? 'none'
          : r.crashes.map((x) => `${x.process} at t+${(x.atMs / 1000).toFixed(1)} s (${x.exit})`).join(', '),
    },
    {
      name: 'every accepted task ended within the deadline after the last recovery',
      ok: endedInTime,
      detail:
        `${r.tasks.unended} of ${r.http.accepted} accepted tasks not ended by t+${(deadlineAt / 1000).toFixed(1)} s ` +
        `(last recovery t+${(r.lastRecoveryAtMs / 1000).toFixed(1)} s + ${r.options.endDeadlineMs / 1000} s); ` +
        `by status ${JSON.stringify(r.tasks.acceptedByStatus)}`,
    },
    {
      name: '0 HTTP 500 (only 503 while a dependency is down)',
      ok: errorCount === 0,
      detail:
        errorCount === 0
          ? 'none'
          : serverErrors.map(([k, v]) => `${v}× ${k} (to ${r.http.tasksByStatus[k] ?? 0} tasks)`).join(', '),
    },
    {
      name: '0 tasks with two successful attempts',
      ok: r.attempts.tasksWithTwoSuccesses === 0,
      detail: `${r.attempts.tasksWithTwoSuccesses} tasks`,
    },
    {
      name: 'provider calls ≤ tasks + calls in flight at the kills',
      ok: r.calls.calls <= callBudget,
      detail:
        `${r.calls.calls} calls vs ${r.tasks.inDatabase} tasks + ${r.calls.inFlightAtKills} in flight = ${callBudget}` +
        (r.calls.calls > callBudget ? ` (${r.calls.calls - callBudget} over)` : ''),
    },
    {
      name: 'recorded spend = cost of the model answers used',
      ok: spendOk,
      detail:
        `recorded ${usd(recorded)}, used ${usd(c.usedMicros)} (${c.usedAnswers} answers; billed ${usd(c.billedMicros)} ` +
        `for ${c.billedAnswers}, ${c.diedAnswers} died with a killed worker); ` +
        `${c.lostAnswers} used answers never recorded (${usd(c.lostMicros)}), ${c.phantomAttempts} attempt rows ` +
        'matching no delivered answer',
    },
  ];
}
