import { Redis } from 'ioredis';
import { logConnectionError } from './connection-error-log.ts';

/**
 * An ioredis client for BullMQ. `maxRetriesPerRequest: null` lets workers' blocking commands wait through a Redis
 * restart instead of failing; ioredis reconnects with a capped backoff.
 */
export function createRedis(url: string, name = 'orchex', opts: { failFast?: boolean } = {}): Redis {
  const client = new Redis(url, {
    // failFast (the API): a command while Redis is down fails at once, so a submit answers 503 instead of hanging
    // until Redis returns; workers keep the default and simply wait.
    ...(opts.failFast ? { enableOfflineQueue: false, maxRetriesPerRequest: 1 } : { maxRetriesPerRequest: null }),
    connectionName: name,
    retryStrategy: (times) => Math.min(times * 200, 5000),
  });
  client.on('error', (err: Error) => logConnectionError(name, err));
  return client;
}
