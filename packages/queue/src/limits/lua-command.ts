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
 * Binds a Lua script to a client with `defineCommand`, so calls go out as EVALSHA (ioredis falls back to EVAL on
 * NOSCRIPT, e.g. after a Redis restart). Defined once per client and name, so several limiters may share a client.
 * With `acks`, each call is followed by WAIT in the same pipeline — on a cluster the pipeline goes to the node of the
 * script's slot, so WAIT waits for that master's replicas: a failover then cannot lose a write the caller acted on.
 */
export function luaCommand<T>(
  redis: RedisClient,
  name: string,
  numberOfKeys: number | 'varying',
  lua: string,
  acks?: ReplicaAcks,
): LuaCommand<T> {
  const methods = redis as unknown as Record<string, unknown>;
  // 'varying': each call says how many of its arguments are keys (ioredis then takes numkeys as the first argument).
  const varying = numberOfKeys === 'varying';
  if (typeof methods[name] !== 'function')
    redis.defineCommand(name, varying ? { lua } : { numberOfKeys: numberOfKeys as number, lua });
  const fn = methods[name] as (...args: Array<string | number>) => Promise<T>;
  const argv = (keys: string[], args: Array<string | number>) =>
    varying ? [keys.length, ...keys, ...args] : [...keys, ...args];
  const plain: LuaCommand<T> = (keys, args) => fn.call(redis, ...argv(keys, args));
  if (!acks || acks.replicas <= 0) return plain;
  // WAIT blocks the connection it is sent on — every other command of this process to that master queues behind it
  // — so a master that has no replica to answer (one lost its replica, or was just promoted) would cost every call
  // the whole timeout. After a WAIT that came back short, calls go without it for a while, then try again.
  let unreplicatedUntil = 0;
  return async (keys, args) => {
    if (Date.now() < unreplicatedUntil) return plain(keys, args);
    for (let tries = 1; ; tries++) {
      const pipeline = redis.pipeline() as unknown as Record<string, (...a: Array<string | number>) => unknown>;
      (pipeline[name] as (...a: Array<string | number>) => unknown).call(pipeline, ...argv(keys, args));
      const results = await (pipeline as unknown as ReturnType<RedisClient['pipeline']>)
        .wait(acks.replicas, acks.timeoutMs)
        .exec();
      const [err, value] = results?.[0] ?? [new Error(`${name}: no reply`), undefined];
      if (!err) {
        const acked = results?.[1]?.[1];
        if (typeof acked !== 'number' || acked < acks.replicas) unreplicatedUntil = Date.now() + UNREPLICATED_PAUSE_MS;
        return value as T;
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
