import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/** An ioredis client: a single node or a cluster (every script touches keys of one hash tag only). */
export type RedisClient = Redis | Cluster;

/** Calls one Lua script with its KEYS and ARGV. */
export type LuaCommand<T> = (keys: string[], args: Array<string | number>) => Promise<T>;

/** Replication a script's writes wait for before its caller goes on (Redis WAIT). */
export interface ReplicaAcks {
  /** Replicas that must have the write. 0 = do not wait (default everywhere). */
  replicas: number;
  /** Longest wait; past it the caller goes on with fewer acknowledgements. */
  timeoutMs: number;
}

/**
 * Calls a Lua script as EVALSHA — as EVAL the first time, and whenever the server answers NOSCRIPT (a Redis restarted
 * or failed over, or another node of a cluster; EVAL caches it there). Not ioredis' `defineCommand`: every pipeline
 * ioredis makes copies each script defined on its client into itself, and an auto-pipelined client (the worker's)
 * makes one per tick — with BullMQ's scripts beside ours that was 81 scripts, 65–85 µs, per pipeline. `name` only
 * names the script in errors. With `acks`, each call is followed by WAIT in the same pipeline — on a cluster the
 * pipeline goes to the node of the script's slot, so WAIT waits for that master's replicas: a failover then cannot
 * lose a write the caller acted on.
 */
export function luaCommand<T>(redis: RedisClient, name: string, lua: string, acks?: ReplicaAcks): LuaCommand<T> {
  const sha = shaOf(lua);
  // Scripts this client has sent as text, shared by every command on it (an API key's ledger is made on its first
  // use, and its scripts are the other ledgers'). Until then a call sends the text, which loads it: no NOSCRIPT trip.
  let known = sentOn.get(redis);
  if (!known) {
    known = new Set<string>();
    sentOn.set(redis, known);
  }
  const plain: LuaCommand<T> = async (keys, args) => {
    if (known.has(sha)) {
      try {
        return (await redis.evalsha(sha, keys.length, ...keys, ...args)) as T;
      } catch (err) {
        if (!isNoScript(err)) throw err;
      }
    }
    const out = (await redis.eval(lua, keys.length, ...keys, ...args)) as T;
    known.add(sha);
    return out;
  };
  if (!acks || acks.replicas <= 0) return plain;
  // WAIT blocks the connection it is sent on — every other command of this process to that master queues behind it
  // — so a master that has no replica to answer (one lost its replica, or was just promoted) would cost every call
  // the whole timeout. After a WAIT that came back short, calls go without it for a while, then try again.
  let unreplicatedUntil = 0;
  return async (keys, args) => {
    if (Date.now() < unreplicatedUntil) return plain(keys, args);
    let sendText = !known.has(sha);
    for (let tries = 1; ; tries++) {
      const pipeline = redis.pipeline();
      if (sendText) pipeline.eval(lua, keys.length, ...keys, ...args);
      else pipeline.evalsha(sha, keys.length, ...keys, ...args);
      const results = await pipeline.wait(acks.replicas, acks.timeoutMs).exec();
      const [err, value] = results?.[0] ?? [new Error(`${name}: no reply`), undefined];
      if (!err) {
        known.add(sha);
        const acked = results?.[1]?.[1];
        if (typeof acked !== 'number' || acked < acks.replicas) unreplicatedUntil = Date.now() + UNREPLICATED_PAUSE_MS;
        return value as T;
      }
      if (isNoScript(err) && !sendText) {
        sendText = true;
        continue;
      }
      // ioredis follows MOVED/ASK for single commands but hands a pipeline's back when its replies differ (the
      // script redirected, WAIT answered): during a failover ask again once the slot map is fresh. The scripts are
      // idempotent per reservation id, and a redirected script did not run.
      if (!REDIRECTED.test(err.message) || tries >= REDIRECT_TRIES) throw err;
      await refreshSlots(redis);
      await new Promise((r) => setTimeout(r, Math.min(100 * tries, 1000)));
    }
  };
}

const sentOn = new WeakMap<RedisClient, Set<string>>();
const shas = new Map<string, string>();
/** A script's SHA-1, computed once per script text (the budget's are several KB, and each API key's ledger has four). */
function shaOf(lua: string): string {
  let sha = shas.get(lua);
  if (!sha) {
    sha = createHash('sha1').update(lua).digest('hex');
    shas.set(lua, sha);
  }
  return sha;
}

const isNoScript = (err: unknown) => err instanceof Error && err.message.startsWith('NOSCRIPT');

/** Asks a cluster client for the current slot map (at most 2 s); a single-node client has none to refresh. */
function refreshSlots(redis: RedisClient): Promise<void> {
  const cluster = redis as { refreshSlotsCache?: (cb: () => void) => void };
  if (!cluster.refreshSlotsCache) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 2000);
    cluster.refreshSlotsCache?.(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** How long calls skip WAIT after one came back with too few replicas. */
const UNREPLICATED_PAUSE_MS = 5000;

/** Replies that mean "not here, not now" on a cluster: the command did not run. */
const REDIRECTED = /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN|READONLY|LOADING)\b/;
/** Tries of a redirected pipelined script (~60 s with the backoff): longer than a failover takes. */
const REDIRECT_TRIES = 65;

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
