import type { Cluster, Redis } from 'ioredis';

/** An ioredis client: a single node or a cluster (every script touches keys of one hash tag only). */
export type RedisClient = Redis | Cluster;

/** Calls one Lua script with its KEYS and ARGV. */
export type LuaCommand<T> = (keys: string[], args: Array<string | number>) => Promise<T>;

/**
 * Binds a Lua script to a client with `defineCommand`, so calls go out as EVALSHA (ioredis falls back to EVAL on
 * NOSCRIPT, e.g. after a Redis restart). Defined once per client and name, so several limiters may share a client.
 */
export function luaCommand<T>(redis: RedisClient, name: string, numberOfKeys: number, lua: string): LuaCommand<T> {
  const methods = redis as unknown as Record<string, unknown>;
  if (typeof methods[name] !== 'function') redis.defineCommand(name, { numberOfKeys, lua });
  const fn = methods[name] as (...args: Array<string | number>) => Promise<T>;
  return (keys, args) => fn.call(redis, ...keys, ...args);
}

/** Lua: Redis's own clock in ms — the one clock every host agrees on, whatever the hosts' clocks say. */
export const LUA_NOW_MS = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/** Lua: integer → string without exponent notation, for values computed in Lua and passed back to Redis. */
export const LUA_INT = `
local function int(n) return string.format('%d', n) end
`;

/** Lua: runs fn over a list in slices, because unpack() of thousands of items overflows Lua's C stack. */
export const LUA_CHUNKS = `
local function chunks(list, fn)
  for i = 1, #list, 500 do fn(unpack(list, i, math.min(i + 499, #list))) end
end
`;
