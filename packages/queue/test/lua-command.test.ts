import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivateRedis, startPrivateRedis } from '../../../test/support/private-redis.ts';
import { createRedis, type RedisClient } from '../src/index.ts';
import { luaCommand } from '../src/limits/lua-command.ts';

// luaCommand sends a script's text once and its SHA after; a server that lost its script cache (a restart, a failover,
// another cluster node) answers NOSCRIPT, and the call goes again as text. On a private Redis: SCRIPT FLUSH is global.

const commandCalls = async (redis: RedisClient, name: string) =>
  Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(await redis.info('commandstats'))?.[1] ?? 0);

describe('luaCommand', () => {
  let server: PrivateRedis;
  let redis: RedisClient;
  beforeAll(async () => {
    server = await startPrivateRedis();
    redis = createRedis(server.url, 'lua-command-test', { autoPipeline: true });
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('sends the text once, then the SHA, and answers through a flushed script cache', async () => {
    const incr = luaCommand<number>(redis, 'incrBy', "return redis.call('INCRBY', KEYS[1], ARGV[1])");
    await redis.config('RESETSTAT');
    expect(await incr(['lua:n'], [2])).toBe(2);
    expect(await incr(['lua:n'], [3])).toBe(5);
    expect([await commandCalls(redis, 'eval'), await commandCalls(redis, 'evalsha')]).toEqual([1, 1]);

    await redis.script('FLUSH'); // what a restart or a promoted replica looks like to the client
    expect(await incr(['lua:n'], [4])).toBe(9);
    expect(await incr(['lua:n'], [1])).toBe(10);
    // One EVALSHA refused with NOSCRIPT, then the text again, then the SHA.
    expect([await commandCalls(redis, 'eval'), await commandCalls(redis, 'evalsha')]).toEqual([2, 3]);
  });

  it('defines nothing on the client, so its pipelines stay cheap', async () => {
    luaCommand(redis, 'noop', 'return 1');
    expect(Object.keys((redis as unknown as { scriptsSet: object }).scriptsSet)).toEqual([]);
  });
});
