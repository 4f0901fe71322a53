import type { Redis } from 'ioredis';

/**
 * Redis's clock in ms (TIME), the clock the limiter's and the budget's scripts use. Tests time windows and expiries
 * by it, not by how long a sleep took: on a loaded machine a sleep overshoots, and the gap between two commands
 * grows, but readings of TIME before and after a command always bracket when the script ran.
 */
export async function redisNowMs(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** Waits until Redis's clock reads at least `ms`; returns the reading. */
export async function untilRedisTime(redis: Redis, ms: number): Promise<number> {
  for (;;) {
    const now = await redisNowMs(redis);
    if (now >= ms) return now;
    await new Promise((r) => setTimeout(r, Math.min(ms - now, 50)));
  }
}

/** Runs `fn` between two readings of Redis's clock: whatever its script did, it did at a time in [before, after]. */
export async function bracketed<T>(
  redis: Redis,
  fn: () => Promise<T>,
): Promise<{ before: number; after: number; value: T }> {
  const before = await redisNowMs(redis);
  const value = await fn();
  return { before, after: await redisNowMs(redis), value };
}
