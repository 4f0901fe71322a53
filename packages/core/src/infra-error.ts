/**
 * Errors of the infrastructure — Postgres or Redis unreachable, restarting or refusing connections — as opposed to
 * errors of a request or a model. They decide between "wait and try again" (a job is delayed, an API answers 503)
 * and "this failed", and they never carry data into a message: see safeErrorText.
 */

/** Which dependency failed. */
export type Dependency = 'postgres' | 'redis';

// Node's socket errors: the peer is gone, refused, unreachable or timed out.
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENOENT', // a unix socket path that is not there (yet)
]);
// SQLSTATEs of a server that is going away or not accepting connections now; class 08 (connection exception) is
// matched by prefix.
const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300', '53400']);
// node-postgres and pg-pool report these without a code.
const PG_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /^Client has encountered a connection error and is not queryable/,
  /^Client was closed and is not queryable/,
  /^Cannot use a pool after calling end on the pool/,
];
// ioredis: the connection is down, or a command gave up while it was.
const REDIS_MESSAGES = [
  /^Connection is closed\.?$/,
  /^Stream isn't writeable and enableOfflineQueue options is false/,
  /^Reached the max retries per request limit/,
  /^CLUSTERDOWN/,
  /^LOADING /,
  /^READONLY /,
  /^MASTERDOWN/,
  /^TRYAGAIN/,
  // A cluster's redirection that reached the caller: its slot map is mid-failover; the command did not run.
  /^MOVED \d+ /,
  /^ASK \d+ /,
];

/** Every error in a chain of causes and aggregates (drizzle wraps the driver's error; Node aggregates IPv4/IPv6). */
function* chain(err: unknown, depth = 0): Generator<Record<string, unknown>> {
  if (!err || typeof err !== 'object' || depth > 6) return;
  const e = err as Record<string, unknown>;
  yield e;
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* chain(inner, depth + 1);
  if (e.cause !== undefined && e.cause !== err) yield* chain(e.cause, depth + 1);
}

/** The dependency that is unreachable when `err` says so, else undefined (a bug, a constraint, a bad request). */
export function unavailableDependency(err: unknown): Dependency | undefined {
  for (const e of chain(err)) {
    const name = typeof e.name === 'string' ? e.name : '';
    const message = typeof e.message === 'string' ? e.message : '';
    const code = typeof e.code === 'string' ? e.code : '';
    if (name === 'MaxRetriesPerRequestError' || REDIS_MESSAGES.some((re) => re.test(message))) return 'redis';
    if (PG_UNAVAILABLE.has(code) || code.startsWith('08') || PG_MESSAGES.some((re) => re.test(message)))
      return 'postgres';
    if (SOCKET_CODES.has(code))
      return /:6379\b|redis/i.test(`${message} ${String(e.address ?? '')}`) ? 'redis' : 'postgres';
  }
  return undefined;
}

/**
 * A description of any error that is safe to log, store as a job's failure reason or show: for database errors the
 * SQLSTATE (and constraint) only, never the statement or its parameters (which hold prompts and answers); for an
 * unreachable dependency its name and the socket code; otherwise the error's class and message, cut short.
 */
export function safeErrorText(err: unknown): string {
  const dependency = unavailableDependency(err);
  const all = [...chain(err)];
  const code = all.map((e) => e.code).find((c): c is string => typeof c === 'string');
  if (dependency) return `${dependency} unavailable${code ? ` (${code})` : ''}`;
  const pg = all.find((e) => typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && 'severity' in e);
  if (pg || all.some((e) => typeof e.query === 'string')) {
    const constraint = pg && typeof pg.constraint === 'string' ? ` on ${pg.constraint}` : '';
    return `database error${pg ? ` ${String(pg.code)}` : ''}${constraint}`;
  }
  const top = all[0];
  if (!top) return String(err).slice(0, 200);
  const name = typeof top.name === 'string' ? top.name : 'Error';
  const message = typeof top.message === 'string' ? top.message : '';
  return `${name}: ${message}`.slice(0, 500);
}
