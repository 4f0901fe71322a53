import { describe, expect, it } from 'vitest';
import { parseEnv } from '../src/index.ts';

describe('parseEnv: Redis', () => {
  it('REDIS_URL unset: the local Redis on 127.0.0.1:6379, which npm start may start itself', () => {
    const env = parseEnv({});
    expect(env.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(env.embeddedRedis).toEqual({ port: 6379, dir: undefined, serverPath: undefined });
  });

  it('ORCHEX_REDIS_PORT, _DIR and _SERVER shape the local Redis, and the URL start:api/start:worker use', () => {
    const env = parseEnv({
      ORCHEX_REDIS_PORT: '6400',
      ORCHEX_REDIS_DIR: '/var/lib/orchex/redis',
      ORCHEX_REDIS_SERVER: '/opt/redis/bin/redis-server',
    });
    expect(env.redisUrl).toBe('redis://127.0.0.1:6400');
    expect(env.embeddedRedis).toEqual({
      port: 6400,
      dir: '/var/lib/orchex/redis',
      serverPath: '/opt/redis/bin/redis-server',
    });
  });

  it('REDIS_URL set: used as is, nothing local is probed or started', () => {
    const env = parseEnv({ REDIS_URL: 'redis://cache.internal:6380/2', ORCHEX_REDIS_PORT: '6400' });
    expect(env.redisUrl).toBe('redis://cache.internal:6380/2');
    expect(env.embeddedRedis).toBeUndefined();
  });

  it('a bad port or URL stops the process naming the variable', () => {
    expect(() => parseEnv({ ORCHEX_REDIS_PORT: '70000' })).toThrow(/ORCHEX_REDIS_PORT/);
    expect(() => parseEnv({ REDIS_URL: 'localhost:6379' })).toThrow(
      /REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/,
    );
  });
});
