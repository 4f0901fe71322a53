import type { CallAccount } from './account-calls.ts';
import type { ChaosOptions } from './chaos-options.ts';

/** Everything a drill measured; plain data (JSON-printable). Times "atMs" are ms since the first submit. */
export interface ChaosReport {
  options: ChaosOptions;
  /** Wall-clock of setup (services, processes), the drill itself (first submit → checks done), and teardown. */
  durations: { setupMs: number; drillMs: number; teardownMs: number };
  /** Epoch ms of the first submit: time 0 of every "atMs". */
  t0: number;
  /** What each fault hit: calls in flight where it struck, and (Postgres) tasks not yet submitted. */
  faultLoad: Array<{ fault: string; callsInFlight: number; submitsToCome?: number }>;
  /** Faults and milestones in order. */
  timeline: Array<{ atMs: number; event: string }>;
  /** When the last dependency came back (Postgres started). */
  lastRecoveryAtMs: number;
  http: {
    /** Submit responses by status ("network"/"timeout" = none). */
    byStatus: Record<string, number>;
    /** Distinct tasks that got each status at least once. */
    tasksByStatus: Record<string, number>;
    /** First/last time each status was seen. */
    seen: Record<string, { first: number; last: number }>;
    /** Distinct tasks the client was told are accepted. */
    accepted: number;
    /** Of those, learnt from a 200 idempotent replay after an earlier try's answer was an error. */
    replayed: number;
    /** Tasks refused for good with a 4xx. */
    rejected: number;
    /** Tasks never accepted before the client gave up. */
    gaveUp: number;
  };
  tasks: {
    /** Rows in the tasks table (accepted or not). */
    inDatabase: number;
    /** Rows whose id the client never received (created by a request that answered with an error). */
    notAcknowledged: number;
    /** Accepted tasks by status at the end. */
    acceptedByStatus: Record<string, number>;
    /** Accepted tasks not ended by the deadline, and up to 10 of their ids. */
    unended: number;
    unendedSample: string[];
    /** When the last accepted task ended (Postgres clock), or null if none ended. */
    lastEndedAtMs: number | null;
  };
  attempts: {
    succeeded: number;
    failed: number;
    /** Σ attempts.cost_micros: the spend orchex recorded. */
    recordedMicros: number;
    /** Tasks with more than one successful attempt row. */
    tasksWithTwoSuccesses: number;
  };
  calls: CallAccount;
  queues: {
    /** Jobs in BullMQ's failed sets at the end. */
    failedJobs: number;
    /** Of those, failedReasons containing prompt text (data leaking into Redis and Bull Board). */
    failedReasonQuotesPrompt: number;
    /** BullMQ state of the current-step job of each accepted task that did not end ("missing" = no job). */
    unendedJobStates: Record<string, number>;
  };
  /** orchex processes that exited without being killed by the drill (then restarted, as a supervisor would). */
  crashes: Array<{ process: string; atMs: number; exit: string }>;
  /** Warn/error log lines of the API and the workers, by process kind and message (never the error text). */
  logs: Record<string, number>;
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const usd = (micros: number) => `$${(micros / 1e6).toFixed(6)}`;

// When the lost answers arrived, relative to the drill (the report's calls keep epoch ms, as the fake logs them).
const lostAt = (r: ChaosReport) => {
  const times = r.calls.lostDeliveredAt.map((t) => t - r.t0);
  if (times.length === 0) return '';
  return `, delivered at t+${s(times[0] as number)}…${s(times.at(-1) as number)}`;
};

/** The report as lines for a terminal: options, timeline, then the numbers the invariants are checked on. */
export function formatChaosReport(r: ChaosReport): string {
  const o = r.options;
  const lines = [
    `chaos drill: ${o.tasks} tasks, fake latency ${o.latencyMs} ms, ${o.workers} workers × concurrency ${o.concurrency}, ` +
      `submit ${o.submitRate}/s, Redis down ${s(o.redisDownMs)}, Postgres down ${s(o.pgOutageMs)}` +
      (o.lockMs === undefined ? '' : `, ORCHEX_LOCK_MS ${o.lockMs}`),
    `took: setup ${s(r.durations.setupMs)}, drill ${s(r.durations.drillMs)}, teardown ${s(r.durations.teardownMs)}`,
    'timeline:',
    ...r.timeline.map((e) => `  t+${s(e.atMs).padStart(8)}  ${e.event}`),
    `submit responses: ${Object.entries(r.http.byStatus)
      .sort()
      .map(
        ([k, v]) =>
          `${k}×${v} for ${r.http.tasksByStatus[k] ?? 0} tasks (t+${s(r.http.seen[k]?.first ?? 0)}…${s(r.http.seen[k]?.last ?? 0)})`,
      )
      .join(', ')}`,
    `tasks: accepted ${r.http.accepted} (${r.http.replayed} via idempotent replay), rejected ${r.http.rejected}, ` +
      `never accepted ${r.http.gaveUp}; rows in Postgres ${r.tasks.inDatabase} (${r.tasks.notAcknowledged} never acknowledged)`,
    `accepted tasks by status: ${JSON.stringify(r.tasks.acceptedByStatus)}; not ended: ${r.tasks.unended}` +
      (r.tasks.unendedSample.length ? ` e.g. ${r.tasks.unendedSample.slice(0, 3).join(', ')}` : ''),
    `last accepted task ended at ${r.tasks.lastEndedAtMs === null ? '—' : `t+${s(r.tasks.lastEndedAtMs)}`}, ` +
      `last recovery at t+${s(r.lastRecoveryAtMs)}`,
    `attempts: ${r.attempts.succeeded} succeeded, ${r.attempts.failed} failed; tasks with 2+ successful attempts: ` +
      `${r.attempts.tasksWithTwoSuccesses}`,
    `provider calls: ${r.calls.calls} ${JSON.stringify(r.calls.byOutcome)}; outcome taken by the kills: ` +
      `${r.calls.inFlightAtKills} (in flight at ${r.calls.perKill
        .map((k) => `${k.target === 'redis' ? 'the Redis kill' : `worker ${k.target + 1}'s kill`} ${k.calls}`)
        .join(', ')}; answers that died with a killed worker ${r.calls.diedAnswers})`,
    `answers: ${r.calls.billedAnswers} delivered (${usd(r.calls.billedMicros)}), ${r.calls.usedAnswers} used ` +
      `(${usd(r.calls.usedMicros)}), ${r.calls.diedAnswers} died with a killed worker, ${r.calls.lostAnswers} used but ` +
      `never recorded (${usd(r.calls.lostMicros)}${lostAt(r)}); recorded spend ${usd(r.attempts.recordedMicros)}, ` +
      `${r.calls.phantomAttempts} attempt rows matching no answer`,
    `BullMQ failed jobs: ${r.queues.failedJobs} (${r.queues.failedReasonQuotesPrompt} with prompt text in failedReason); ` +
      `jobs of unended tasks: ${JSON.stringify(r.queues.unendedJobStates)}`,
    `crashes: ${r.crashes.length === 0 ? 'none' : r.crashes.map((c) => `${c.process} at t+${s(c.atMs)} (${c.exit})`).join(', ')}`,
    `warn/error log lines: ${
      Object.entries(r.logs)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ×${v}`)
        .join('; ') || 'none'
    }`,
  ];
  return lines.join('\n');
}
