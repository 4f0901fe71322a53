import { describe, expect, it } from 'vitest';
import { parseEnv } from '../src/index.ts';

describe('parseEnv: Redis Cluster, replicas, retention', () => {
  it('off by default: one Redis, no replica waits, no retention', () => {
    const env = parseEnv({});
    expect(env.redisCluster).toBeUndefined();
    expect(env.redisReplicaAcks).toBe(0);
    expect(env.worker.retentionDays).toBeUndefined();
  });

  it('ORCHEX_REDIS_CLUSTER=1: REDIS_URL is the seed, or ORCHEX_REDIS_NODES lists them', () => {
    expect(parseEnv({ ORCHEX_REDIS_CLUSTER: '1', REDIS_URL: 'redis://:pw@r0:6379' }).redisCluster).toEqual({
      nodes: ['redis://:pw@r0:6379'],
    });
    const env = parseEnv({
      ORCHEX_REDIS_CLUSTER: 'true',
      REDIS_URL: 'redis://:pw@r0:6379',
      ORCHEX_REDIS_NODES: 'r0:6379, r1:6379,redis://r2:6380',
      ORCHEX_REDIS_REPLICA_ACKS: '1',
      ORCHEX_RETENTION_DAYS: '30',
      ORCHEX_SWEEP_INTERVAL_MS: '2000',
    });
    expect(env.redisCluster).toEqual({ nodes: ['r0:6379', 'r1:6379', 'redis://r2:6380'] });
    expect(env.redisReplicaAcks).toBe(1);
    expect(env.worker).toMatchObject({ retentionDays: 30, sweepEveryMs: 2000 });
  });

  it('bad values name the variable; seed nodes without the switch are refused, not ignored', () => {
    expect(() => parseEnv({ ORCHEX_REDIS_NODES: 'r0:6379' })).toThrow(/ORCHEX_REDIS_NODES.*ORCHEX_REDIS_CLUSTER=1/);
    expect(() =>
      parseEnv({ ORCHEX_REDIS_CLUSTER: '1', REDIS_URL: 'redis://r0:6379', ORCHEX_REDIS_NODES: 'r0' }),
    ).toThrow(/ORCHEX_REDIS_NODES/);
    expect(() => parseEnv({ ORCHEX_REDIS_CLUSTER: '1', ORCHEX_REDIS_NODES: 'r0:6379' })).toThrow(/REDIS_URL.*seed/);
    expect(() => parseEnv({ ORCHEX_REDIS_CLUSTER: 'yes' })).toThrow(/ORCHEX_REDIS_CLUSTER/);
    expect(() => parseEnv({ ORCHEX_RETENTION_DAYS: '0' })).toThrow(/ORCHEX_RETENTION_DAYS/);
    expect(() => parseEnv({ ORCHEX_REDIS_REPLICA_ACKS: '-1' })).toThrow(/ORCHEX_REDIS_REPLICA_ACKS/);
  });
});

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
