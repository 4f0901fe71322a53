import { Redis } from 'ioredis';
import { afterAll, beforeAll, inject } from 'vitest';

/**
 * `n` Redis clients for the enclosing file (filled in beforeAll): several clients stand for several worker hosts.
 * Afterwards every key under `prefix` is deleted and the clients quit.
 */
export function useRedisClients(n: number, prefix: string): Redis[] {
  const clients: Redis[] = [];
  beforeAll(() => {
    for (let i = 0; i < n; i++) clients.push(new Redis(inject('redisUrl')));
  });
  afterAll(async () => {
    const r = clients[0];
    if (r) {
      const keys = await r.keys(`${prefix}:*`);
      if (keys.length > 0) await r.del(...keys);
    }
    await Promise.all(clients.map((c) => c.quit()));
  });
  return clients;
}
