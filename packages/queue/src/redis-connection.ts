import { Redis } from 'ioredis';

/**
 * An ioredis client for BullMQ. `maxRetriesPerRequest: null` lets workers' blocking commands wait through a Redis
 * restart instead of failing; ioredis reconnects with a capped backoff.
 */
export function createRedis(url: string, name = 'orchex'): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    connectionName: name,
    retryStrategy: (times) => Math.min(times * 200, 5000),
  });
}
