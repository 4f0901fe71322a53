import { Redis } from 'ioredis';
import { logConnectionError } from './connection-error-log.ts';

/**
 * An ioredis client for BullMQ. `maxRetriesPerRequest: null` lets workers' blocking commands wait through a Redis
 * restart instead of failing; ioredis reconnects with a capped backoff.
 */
export function createRedis(url: string, name = 'orchex'): Redis {
  const client = new Redis(url, {
    maxRetriesPerRequest: null,
    connectionName: name,
    retryStrategy: (times) => Math.min(times * 200, 5000),
  });
  client.on('error', (err: Error) => logConnectionError(name, err));
  return client;
}
