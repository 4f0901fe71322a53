import { parseArgs } from 'node:util';

/** Sizes and timings of one fault drill. Every field has a flag and an environment variable (see OPTION_SOURCES). */
export interface ChaosOptions {
  /** Tasks to submit over HTTP. Default 2000. */
  tasks: number;
  /** Fake model latency per call. Default 2000 ms. */
  latencyMs: number;
  /** Worker processes (each killed -9 once and restarted). Default 3. */
  workers: number;
  /** `--concurrency` of each worker process (jobs at once per model queue). Default 400. */
  concurrency: number;
  /** First submits started per second within each segment of tasks (one per fault). Default 40 (20 short). */
  submitRate: number;
  /** Most submit requests in flight at once. Default 64. */
  clientConcurrency: number;
  /** How long Redis stays dead between kill -9 and restart. Default 1000 ms. */
  redisDownMs: number;
  /** How long Postgres stays stopped. Default 40000 ms. */
  pgOutageMs: number;
  /** Every accepted task must have ended this long after the last recovery. Default 120000 ms (the invariant). */
  endDeadlineMs: number;
  /** A client keeps retrying a refused submit until this long after the last recovery. Default 30000 ms. */
  submitGiveUpMs: number;
  /**
   * An answer delivered to a worker this shortly before it was killed -9 may have died with it, if it is not
   * recorded. A healthy worker records an answer within tens of milliseconds; the margin is for a loaded machine,
   * and costs no precision (answers are matched to attempt rows one by one). Default 3000 ms.
   */
  killGraceMs: number;
  /** ORCHEX_LOCK_MS for the workers (how soon a dead worker's jobs are re-delivered); undefined = orchex's default. */
  lockMs: number | undefined;
  /** Keep the run directory (process logs, Redis AOF, Postgres cluster) instead of deleting it. Default false. */
  keep: boolean;
}

/** The drill of issue 9, as `npm run chaos` runs it. */
export const FULL_RUN: ChaosOptions = {
  tasks: 2000,
  latencyMs: 2000,
  workers: 3,
  concurrency: 400,
  submitRate: 40,
  clientConcurrency: 64,
  redisDownMs: 1000,
  pgOutageMs: 40_000,
  endDeadlineMs: 120_000,
  submitGiveUpMs: 30_000,
  killGraceMs: 3000,
  lockMs: undefined,
  keep: false,
};

/**
 * The same drill small enough for `npm test`: a dead worker's jobs come back after a 5 s lock instead of 30 s, so
 * a correct system finishes well inside a minute. The end deadline stays the invariant's 2 minutes.
 */
export const SHORT_RUN: ChaosOptions = {
  ...FULL_RUN,
  tasks: 200,
  latencyMs: 300,
  workers: 2,
  concurrency: 50,
  submitRate: 20,
  clientConcurrency: 16,
  pgOutageMs: 8000,
  submitGiveUpMs: 15_000,
  lockMs: 5000,
};

type NumericKey = Exclude<keyof ChaosOptions, 'keep' | 'lockMs'>;

/** Flag name and environment variable of each numeric option. */
const OPTION_SOURCES: Record<NumericKey | 'lockMs', { flag: string; env: string }> = {
  tasks: { flag: 'tasks', env: 'CHAOS_TASKS' },
  latencyMs: { flag: 'latency-ms', env: 'CHAOS_LATENCY_MS' },
  workers: { flag: 'workers', env: 'CHAOS_WORKERS' },
  concurrency: { flag: 'concurrency', env: 'CHAOS_CONCURRENCY' },
  submitRate: { flag: 'submit-rate', env: 'CHAOS_SUBMIT_RATE' },
  clientConcurrency: { flag: 'client-concurrency', env: 'CHAOS_CLIENT_CONCURRENCY' },
  redisDownMs: { flag: 'redis-down-ms', env: 'CHAOS_REDIS_DOWN_MS' },
  pgOutageMs: { flag: 'pg-outage-ms', env: 'CHAOS_PG_OUTAGE_MS' },
  endDeadlineMs: { flag: 'end-deadline-ms', env: 'CHAOS_END_DEADLINE_MS' },
  submitGiveUpMs: { flag: 'submit-give-up-ms', env: 'CHAOS_SUBMIT_GIVE_UP_MS' },
  killGraceMs: { flag: 'kill-grace-ms', env: 'CHAOS_KILL_GRACE_MS' },
  lockMs: { flag: 'lock-ms', env: 'CHAOS_LOCK_MS' },
};

/** Usage text for --help. */
export function chaosUsage(): string {
  const lines = Object.entries(OPTION_SOURCES).map(([key, s]) => {
    const full = FULL_RUN[key as keyof ChaosOptions];
    const short = SHORT_RUN[key as keyof ChaosOptions];
    return `  --${s.flag.padEnd(20)} ${s.env.padEnd(26)} full ${String(full ?? 'orchex default')}, --short ${String(short ?? 'orchex default')}`;
  });
  return [
    'npm run chaos -- [--short] [--keep] [--<option> N ...]',
    '  --short                 the small variant that npm test runs (test/chaos/chaos-short.test.ts)',
    '  --keep                  CHAOS_KEEP=1: keep the run directory (process logs, AOF, Postgres cluster)',
    ...lines,
  ].join('\n');
}

/**
 * Options from flags, then environment, then the preset (`--short` or CHAOS_SHORT=1 picks SHORT_RUN). Throws a
 * message naming the bad flag or variable.
 */
export function parseChaosOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): ChaosOptions | 'help' {
  const flagDefs = Object.fromEntries(Object.values(OPTION_SOURCES).map((s) => [s.flag, { type: 'string' as const }]));
  const { values } = parseArgs({
    args: argv,
    options: {
      ...flagDefs,
      short: { type: 'boolean' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const preset = values.short || env.CHAOS_SHORT === '1' ? SHORT_RUN : FULL_RUN;
  const opts: ChaosOptions = { ...preset, keep: Boolean(values.keep) || env.CHAOS_KEEP === '1' };
  for (const [key, s] of Object.entries(OPTION_SOURCES) as Array<
    [NumericKey | 'lockMs', { flag: string; env: string }]
  >) {
    const fromFlag = (values as Record<string, string | boolean | undefined>)[s.flag];
    const raw = typeof fromFlag === 'string' ? fromFlag : env[s.env];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    const name = typeof fromFlag === 'string' ? `--${s.flag}` : s.env;
    if (!Number.isFinite(n) || n < 0 || (key !== 'submitRate' && !Number.isInteger(n))) {
      throw new Error(`${name}: must be a ${key === 'submitRate' ? 'number' : 'whole number'} ≥ 0, got "${raw}"`);
    }
    opts[key] = n;
  }
  if (opts.tasks < 1) throw new Error('tasks: at least 1');
  if (opts.workers < 1) throw new Error('workers: at least 1');
  if (opts.concurrency < 1 || opts.concurrency > 1000) throw new Error('concurrency: from 1 to 1000');
  if (opts.submitRate <= 0) throw new Error('submit rate: must be > 0');
  if (opts.clientConcurrency < 1) throw new Error('client concurrency: at least 1');
  if (opts.lockMs !== undefined && opts.lockMs < 1000) throw new Error('lock ms: at least 1000 (ORCHEX_LOCK_MS)');
  return opts;
}
