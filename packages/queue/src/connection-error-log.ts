const lastLogged = new Map<string, number>();

/**
 * Redis connection errors repeat every reconnect attempt (ioredis retries with backoff, BullMQ re-emits them):
 * one JSON line per source every 10 s is enough to see an outage without flooding the log. /healthz reports it too.
 */
export function logConnectionError(source: string, err: Error): void {
  const now = Date.now();
  if (now - (lastLogged.get(source) ?? 0) < 10_000) return;
  lastLogged.set(source, now);
  process.stderr.write(
    `${JSON.stringify({ level: 40, time: now, source, msg: 'redis connection error (reconnecting)', err: err.message })}\n`,
  );
}
