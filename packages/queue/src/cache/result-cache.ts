import type { Usage } from '@orchex/core';
import { LUA_INT, LUA_NOW_MS, type LuaCommand, luaCommand, type RedisClient } from '../limits/lua-command.ts';

/** One cached answer: what the task's result needs, and what its original call cost (the saving of each hit). */
export interface CachedAnswer {
  model: string;
  resultText: string;
  finishReason: string;
  usage: Usage | null;
  /** The original attempt's cost in micro-dollars. */
  costMicros: number;
}

/** Limits of the cache (the config's `cache` section). */
export interface ResultCacheLimits {
  /** Answers whose JSON is larger than this many bytes are not stored. */
  maxEntryBytes: number;
  /** Entries kept at most; past it the ones closest to expiry go first. */
  maxEntries: number;
  /** Bytes of entries kept at most (their JSON); past it the ones closest to expiry go first. */
  maxBytes: number;
}

// KEYS: entry, index, lock, bytes (counter), sizes (hash). ARGV: value, ttlMs, maxEntries, lock token, size, maxBytes.
// The index is a ZSET of entry keys scored by expiry time, with each entry's size in a hash and their total in a
// counter: expired members are dropped, and while there are more than maxEntries or more than maxBytes the entries
// soonest to expire are evicted (with one TTL for all, the oldest). Entry keys evicted here are not in KEYS, but every
// key of the cache shares the {…} hash tag, so they live in this script's slot (Redis Cluster too).
const STORE = `${LUA_NOW_MS}${LUA_INT}
local now = nowMs()
local ttl = tonumber(ARGV[2])
local size = tonumber(ARGV[5])
local bytes = tonumber(redis.call('GET', KEYS[4]) or '0')
local function forget(member)
  bytes = bytes - tonumber(redis.call('HGET', KEYS[5], member) or '0')
  redis.call('HDEL', KEYS[5], member)
end
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, m in ipairs(dead) do forget(m) end
if #dead > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end
if redis.call('ZSCORE', KEYS[2], KEYS[1]) then
  forget(KEYS[1])
  redis.call('ZREM', KEYS[2], KEYS[1])
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('ZADD', KEYS[2], now + ttl, KEYS[1])
redis.call('HSET', KEYS[5], KEYS[1], size)
bytes = bytes + size
local evicted = 0
while redis.call('ZCARD', KEYS[2]) > tonumber(ARGV[3]) or bytes > tonumber(ARGV[6]) do
  local popped = redis.call('ZPOPMIN', KEYS[2])
  if #popped == 0 then break end
  forget(popped[1])
  redis.call('DEL', popped[1])
  evicted = evicted + 1
end
if bytes < 0 then bytes = 0 end
redis.call('SET', KEYS[4], int(bytes))
if redis.call('GET', KEYS[3]) == ARGV[4] then redis.call('DEL', KEYS[3]) end
return evicted
`;

// KEYS: lock. ARGV: token. Deletes the fill lock only if it is still ours (a lease that expired may belong to another).
const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * The exact-match result cache in Redis. Entries are JSON under `<prefix>:{cache}:e:<hash>` with a TTL each, indexed
 * in one ZSET (with their sizes) so the entries stay under max_entries and max_bytes; a fill lock per key (`…:lock:<hash>`, SET NX PX) lets one
 * step call the model while identical ones wait for its answer instead of calling too. All keys share the `{cache}`
 * hash tag: one slot, so the store script runs atomically on a cluster as well.
 *
 * Unlike jobs, these values hold answer text (the point of a cache); they are never logged.
 */
export class ResultCache {
  private readonly store: LuaCommand<number>;
  private readonly unlock: LuaCommand<number>;
  private readonly base: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly limits: ResultCacheLimits,
  ) {
    this.base = `${prefix}:{cache}`;
    this.store = luaCommand(redis, 'orchexCacheStore', STORE);
    this.unlock = luaCommand(redis, 'orchexCacheUnlock', UNLOCK);
  }

  private entryKey = (hash: string) => `${this.base}:e:${hash}`;
  private lockKey = (hash: string) => `${this.base}:lock:${hash}`;
  private get indexKey() {
    return `${this.base}:index`;
  }

  /** The cached answer for `hash`, or null. */
  async get(hash: string): Promise<CachedAnswer | null> {
    const raw = await this.redis.get(this.entryKey(hash));
    if (raw === null) return null;
    // An entry this version cannot read (written by another, or damaged) is a miss, never a failed step.
    try {
      const a = JSON.parse(raw) as Partial<CachedAnswer>;
      const ok =
        typeof a.model === 'string' &&
        typeof a.resultText === 'string' &&
        typeof a.finishReason === 'string' &&
        typeof a.costMicros === 'number' &&
        (a.usage === null || typeof a.usage === 'object');
      return ok ? (a as CachedAnswer) : null;
    } catch {
      return null;
    }
  }

  /**
   * Claims the right to fill `hash` for `leaseMs` (the call's deadline plus a margin, so a dead filler's claim lapses
   * and a waiter takes over). True when this caller holds it.
   */
  async claim(hash: string, token: string, leaseMs: number): Promise<boolean> {
    return (await this.redis.set(this.lockKey(hash), token, 'PX', leaseMs, 'NX')) === 'OK';
  }

  /**
   * Stores an answer for `ttlMs` and gives up the fill lock, in one script. An answer over max_entry_bytes is not
   * stored (the lock is given up all the same): false then.
   */
  async put(hash: string, token: string, answer: CachedAnswer, ttlMs: number): Promise<boolean> {
    const value = JSON.stringify(answer);
    const size = Buffer.byteLength(value);
    if (size > this.limits.maxEntryBytes) {
      await this.release(hash, token);
      return false;
    }
    await this.store(
      [this.entryKey(hash), this.indexKey, this.lockKey(hash), `${this.base}:bytes`, `${this.base}:sizes`],
      [value, Math.max(1, Math.round(ttlMs)), this.limits.maxEntries, token, size, this.limits.maxBytes],
    );
    return true;
  }

  /** Gives up the fill lock without an answer (the call failed or never happened): a waiter claims it next. */
  async release(hash: string, token: string): Promise<void> {
    await this.unlock([this.lockKey(hash)], [token]);
  }
}
