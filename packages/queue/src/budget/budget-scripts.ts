import { LUA_CHUNKS, LUA_INT, LUA_NOW_MS } from '../limits/lua-command.ts';

// All scripts: KEYS = spent, reserved, amounts, expiry, settled, alerted (see budget-keys.ts). Amounts arrive as
// integer strings in ARGV and go to INCRBY/DECRBY as they are, so Lua's doubles never round money.

const COMMON = `${LUA_NOW_MS}${LUA_INT}${LUA_CHUNKS}
-- When a loader exists, a missing spent counter means Redis lost it: refuse (-1) so the caller rebuilds it from
-- Postgres first. Counting on from 0 would let today's budget be spent twice.
local function unloaded(strict)
  return strict == '1' and redis.call('EXISTS', KEYS[1]) == 0
end

local function num(key) return tonumber(redis.call('GET', key) or '0') end

-- Reservations past their expiry belong to workers that died between reserve and settle: give their money back.
local function prune(now)
  local dead = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now)
  if #dead == 0 then return end
  local freed = 0
  chunks(dead, function(...)
    for _, n in ipairs(redis.call('HMGET', KEYS[3], ...)) do freed = freed + (tonumber(n) or 0) end
    redis.call('HDEL', KEYS[3], ...)
    redis.call('ZREM', KEYS[4], ...)
  end)
  redis.call('DECRBY', KEYS[2], int(freed))
end

-- Once per day: the first call that sees spent at or past the threshold wins the SET NX and reports it.
local function crossed(spent, alert, keepMs)
  if alert == '' or spent < tonumber(alert) then return 0 end
  if redis.call('SET', KEYS[6], '1', 'NX', 'PX', keepMs) then return 1 end
  return 0
end

-- A day's keys outlive the day by keepMs, then vanish; Postgres keeps the ledger.
local function keep(keepMs)
  for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], keepMs) end
end
`;

/**
 * ARGV: id, amount, limit ('' = none), ttlMs, alert ('' = none), strict, keepMs, readLimit, defaultLimit.
 * With readLimit '1' the limit is read here from KEYS[7] (the runtime limit's key, see budgetLimitKey) instead of
 * ARGV[3] — one round trip instead of two where all keys live on one Redis: 'default' means defaultLimit ('' = none),
 * 'none' no limit; a missing key answers -2 so the caller reloads it from its store.
 * Returns {status (1 ok, 0 over the limit, -1 unloaded, -2 limit not cached), spent, reserved, alertCrossed, limit
 * (-1 = none)}.
 */
export const RESERVE_LUA = `${COMMON}
local id = ARGV[1]
if unloaded(ARGV[6]) then return {-1, 0, 0, 0, -1} end
local limit = ARGV[3]
if ARGV[8] == '1' then
  local stored = redis.call('GET', KEYS[7])
  if not stored then return {-2, 0, 0, 0, -1} end
  if stored == 'default' then limit = ARGV[9] elseif stored == 'none' then limit = '' else limit = stored end
end
local shown = -1
if limit ~= '' then shown = tonumber(limit) end
local now = nowMs()
prune(now)
local spent, reserved = num(KEYS[1]), num(KEYS[2])
local alert = crossed(spent, ARGV[5], ARGV[7])
-- Idempotent: a settled id stays settled; a live one is not counted again, only its expiry moves (a heartbeat).
if redis.call('SISMEMBER', KEYS[5], id) == 1 then return {1, spent, reserved, alert, shown} end
if redis.call('HEXISTS', KEYS[3], id) == 1 then
  redis.call('ZADD', KEYS[4], 'XX', now + tonumber(ARGV[4]), id)
  return {1, spent, reserved, alert, shown}
end
if limit ~= '' and spent + reserved + tonumber(ARGV[2]) > tonumber(limit) then
  return {0, spent, reserved, alert, shown}
end
redis.call('HSET', KEYS[3], id, ARGV[2])
redis.call('ZADD', KEYS[4], now + tonumber(ARGV[4]), id)
reserved = redis.call('INCRBY', KEYS[2], ARGV[2])
keep(ARGV[7])
return {1, spent, reserved, alert, shown}
`;

/**
 * ARGV: id, actual, alert ('' = none), strict, keepMs. Returns {status (1 applied, 0 already settled, -1 unloaded),
 * spent, reserved, alertCrossed}. Adds the actual cost even when the reservation already expired: the money was
 * spent all the same.
 */
export const SETTLE_LUA = `${COMMON}
local id = ARGV[1]
if unloaded(ARGV[4]) then return {-1, 0, 0, 0} end
prune(nowMs())
if redis.call('SISMEMBER', KEYS[5], id) == 1 then return {0, num(KEYS[1]), num(KEYS[2]), 0} end
local held = redis.call('HGET', KEYS[3], id)
if held then
  redis.call('HDEL', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('DECRBY', KEYS[2], held)
end
local spent = redis.call('INCRBY', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[5], id)
keep(ARGV[5])
return {1, spent, num(KEYS[2]), crossed(spent, ARGV[3], ARGV[5])}
`;

/** ARGV: id. Returns 1 when a live reservation was removed without spending, 0 when there was none. */
export const RELEASE_LUA = `
local held = redis.call('HGET', KEYS[3], ARGV[1])
if not held then return 0 end
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('DECRBY', KEYS[2], held)
return 1
`;

/** ARGV: strict. Returns {status (1, or -1 unloaded), spent, reserved} after pruning expired reservations. */
export const STATE_LUA = `${COMMON}
if unloaded(ARGV[1]) then return {-1, 0, 0} end
prune(nowMs())
return {1, num(KEYS[1]), num(KEYS[2])}
`;
