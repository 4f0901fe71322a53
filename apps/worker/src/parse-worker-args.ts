import { parseArgs } from 'node:util';

/**
 * Most jobs at once per model queue in one process. A call waiting on a model holds a socket and 50–80 KB of resident
 * memory, flat in the count; the worker's Redis connections, its Postgres pool (one group commit in flight) and its
 * task reads (batched) do not grow with it, so thousands of slow calls fit one process (docs/performance.md, Memory).
 */
export const MAX_CONCURRENCY = 5000;

export interface WorkerArgs {
  /** Model queues to serve; undefined = all configured models. */
  queues: string[] | undefined;
  /** Jobs at once per model queue in this process. Default 8. */
  concurrency: number;
  /** Seconds to let running jobs finish after SIGTERM. Default 30. */
  graceSeconds: number;
  /** Port of the /metrics and /healthz listener (0 = any free port); undefined = no listener. */
  metricsPort: number | undefined;
  /** Address that listener binds. Default 0.0.0.0. */
  metricsHost: string;
}

/**
 * `--queues gpt-5.5,claude-sonnet-5 --concurrency 16 --grace 30 --metrics-port 9464`; throws a message naming the bad
 * flag.
 */
export function parseWorkerArgs(argv: string[]): WorkerArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      queues: { type: 'string' },
      concurrency: { type: 'string', default: '8' },
      grace: { type: 'string', default: '30' },
      'metrics-port': { type: 'string' },
      'metrics-host': { type: 'string', default: '0.0.0.0' },
    },
    strict: true,
  });
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    throw new Error(`--concurrency: must be a whole number from 1 to ${MAX_CONCURRENCY}, got "${values.concurrency}"`);
  }
  const graceSeconds = Number(values.grace);
  if (!Number.isFinite(graceSeconds) || graceSeconds < 0)
    throw new Error(`--grace: must be seconds ≥ 0, got "${values.grace}"`);
  const queues = values.queues
    ?.split(',')
    .map((q) => q.trim())
    .filter(Boolean);
  if (values.queues !== undefined && !queues?.length) throw new Error('--queues: give at least one model name');
  const port = values['metrics-port'];
  const metricsPort = port === undefined ? undefined : Number(port);
  if (metricsPort !== undefined && (!/^\d+$/.test(port ?? '') || metricsPort > 65535))
    throw new Error(`--metrics-port: must be a port from 0 to 65535, got "${port}"`);
  const metricsHost = values['metrics-host'];
  if (!metricsHost.trim()) throw new Error('--metrics-host: give an address such as 0.0.0.0 or 127.0.0.1');
  return { queues, concurrency, graceSeconds, metricsPort, metricsHost };
}
