import { SLOT_FNS } from '../limits/limit-scripts.ts';
import { LUA_CHUNKS, LUA_INT, LUA_NOW_MS } from '../limits/lua-command.ts';

// All scripts: K = spent, reserved, amounts, expiry, settled, alerted (see budget-keys.ts), one ledger's keys. Amounts arrive as
// integer strings in ARGV and go to INCRBY/DECRBY as they are, so Lua's doubles never round money.

const COMMON = `${LUA_NOW_MS}${LUA_INT}${LUA_CHUNKS}
-- The ledger's keys (see budget-keys.ts): KEYS, or one ledger's slice of them in a pair script (PAIR_KEYS).
local K = KEYS
-- When a loader exists, a missing spent counter means Redis lost it: refuse (-1) so the caller rebuilds it from
-- Postgres first. Counting on from 0 would let today's budget be spent twice.
local function unloaded(strict)
  return strict == '1' and redis.call('EXISTS', K[1]) == 0
end

local function num(key) return tonumber(redis.call('GET', key) or '0') end

-- Reservations past their expiry belong to workers that died between reserve and settle: give their money back.
local function prune(now)
  local dead = redis.call('ZRANGEBYSCORE', K[4], '-inf', now)
  if #dead == 0 then return end
  local freed = 0
  chunks(dead, function(...)
    for _, n in ipairs(redis.call('HMGET', K[3], ...)) do freed = freed + (tonumber(n) or 0) end
    redis.call('HDEL', K[3], ...)
    redis.call('ZREM', K[4], ...)
  end)
  redis.call('DECRBY', K[2], int(freed))
end

-- Once per day: the first call that sees spent at or past the threshold wins the SET NX and reports it.
local function crossed(spent, alert, keepMs)
  if alert == '' or spent < tonumber(alert) then return 0 end
  if redis.call('SET', K[6], '1', 'NX', 'PX', keepMs) then return 1 end
  return 0
end

-- How long a settled id is remembered after its hold's expiry. A repeat of a reserve or settle of the same id
-- comes from the same run of its job (every delivery numbers a new attempt, hence a new id), so within the call's
-- timeout; remembering ids for the whole day grew Redis by ~176 bytes per task for three days.
local SETTLED_KEEP_MS = 3600000

-- A day's keys outlive the day by keepMs, then vanish; Postgres keeps the ledger.
local function keep(keepMs)
  for i = 1, 5 do redis.call('PEXPIRE', K[i], keepMs) end
end
`;

// reserve(id, amount, limit, ttlMs, alert, strict, keepMs, readLimit, defaultLimit, limitKey): see RESERVE_LUA.
const RESERVE_FN = `
local function reserve(id, amount, limit, ttlMs, alertAt, strict, keepMs, readLimit, defaultLimit, limitKey)
  if unloaded(strict) then return {-1, 0, 0, 0, -1} end
  if readLimit == '1' then
    local stored = redis.call('GET', limitKey)
    if not stored then return {-2, 0, 0, 0, -1} end
    if stored == 'default' then limit = defaultLimit elseif stored == 'none' then limit = '' else limit = stored end
  end
  local shown = -1
  if limit ~= '' then shown = tonumber(limit) end
  local now = nowMs()
  prune(now)
  local spent, reserved = num(K[1]), num(K[2])
  local alert = crossed(spent, alertAt, keepMs)
  -- Idempotent: a settled id stays settled; a live one is not counted again, only its expiry moves (a heartbeat).
  local settledUntil = redis.call('ZSCORE', K[5], id)
  if settledUntil and tonumber(settledUntil) > now then return {1, spent, reserved, alert, shown} end
  if redis.call('HEXISTS', K[3], id) == 1 then
    redis.call('ZADD', K[4], 'XX', now + tonumber(ttlMs), id)
    return {1, spent, reserved, alert, shown}
  end
  if limit ~= '' and spent + reserved + tonumber(amount) > tonumber(limit) then
    return {0, spent, reserved, alert, shown}
  end
  redis.call('HSET', K[3], id, amount)
  redis.call('ZADD', K[4], now + tonumber(ttlMs), id)
  reserved = redis.call('INCRBY', K[2], amount)
  keep(keepMs)
  return {1, spent, reserved, alert, shown}
end
`;

// settle(id, actual, alert, strict, keepMs): see SETTLE_LUA.
const SETTLE_FN = `
local function settle(id, actual, alertAt, strict, keepMs)
  if unloaded(strict) then return {-1, 0, 0, 0} end
  local now = nowMs()
  prune(now)
  redis.call('ZREMRANGEBYSCORE', K[5], '-inf', now)
  if redis.call('ZSCORE', K[5], id) then return {0, num(K[1]), num(K[2]), 0} end
  local held = redis.call('HGET', K[3], id)
  local heldUntil = now
  if held then
    heldUntil = math.max(now, tonumber(redis.call('ZSCORE', K[4], id) or now))
    redis.call('HDEL', K[3], id)
    redis.call('ZREM', K[4], id)
    redis.call('DECRBY', K[2], held)
  end
  local spent = redis.call('INCRBY', K[1], actual)
  redis.call('ZADD', K[5], heldUntil + SETTLED_KEEP_MS, id)
  keep(keepMs)
  return {1, spent, num(K[2]), crossed(spent, alertAt, keepMs)}
end
`;

// release(id): see RELEASE_LUA.
const RELEASE_FN = `
local function release(id)
  local held = redis.call('HGET', K[3], id)
  if not held then return 0 end
  redis.call('HDEL', K[3], id)
  redis.call('ZREM', K[4], id)
  redis.call('DECRBY', K[2], held)
  return 1
end
`;

/**
 * ARGV: id, amount, ttlMs, keepMs, then the ledger's part (BudgetLedger.reservePart): limit ('' = none), alert
 * ('' = none), strict, readLimit, defaultLimit. With readLimit '1' the limit is read here from KEYS[7] (the runtime
 * limit's key, see budgetLimitKey) instead of ARGV[5] — one round trip instead of two where all keys live on one
 * Redis: 'default' means defaultLimit ('' = none), 'none' no limit; a missing key answers -2 so the caller reloads it
 * from its store. Returns {status (1 ok, 0 over the limit, -1 unloaded, -2 limit not cached), spent, reserved,
 * alertCrossed, limit (-1 = none)}.
 */
export const RESERVE_LUA = `${COMMON}${RESERVE_FN}
return reserve(ARGV[1], ARGV[2], ARGV[5], ARGV[3], ARGV[6], ARGV[7], ARGV[4], ARGV[8], ARGV[9], KEYS[7])
`;

/**
 * ARGV: id, actual, keepMs, then the ledger's part (BudgetLedger.settlePart): alert ('' = none), strict. Returns
 * {status (1 applied, 0 already settled, -1 unloaded), spent, reserved, alertCrossed}. Adds the actual cost even when
 * the reservation already expired: the money was spent all the same.
 */
export const SETTLE_LUA = `${COMMON}${SETTLE_FN}
return settle(ARGV[1], ARGV[2], ARGV[4], ARGV[5], ARGV[3])
`;

/** ARGV: id. Returns 1 when a live reservation was removed without spending, 0 when there was none. */
export const RELEASE_LUA = `local K = KEYS${RELEASE_FN}
return release(ARGV[1])
`;

/** ARGV: strict. Returns {status (1, or -1 unloaded), spent, reserved} after pruning expired reservations. */
export const STATE_LUA = `${COMMON}
if unloaded(ARGV[1]) then return {-1, 0, 0} end
prune(nowMs())
return {1, num(K[1]), num(K[2])}
`;

// Pair scripts: an API key's ledger and the global one in one atomic call. All their keys share the hash tag
// {day}, so a pair is one slot even on a cluster. KEYS: the key ledger's six day keys, [its limit key], the global
// ledger's six, [its limit key] — 14 keys with the limit keys (one Redis), 12 without (a cluster: ARGV carries the
// limits) — then, in the scripts that also take or give a model's slot (one Redis only), the slot's four keys. The
// reply ends with which ledger answered (1 key, 2 global) when it is not a plain success.

// The two ledgers' key tables from the first n KEYS.
const PAIR_KEYS = `
local function pairKeys(n)
  local per = n / 2
  local function part(i)
    local k = {}
    for j = 1, per do k[j] = KEYS[(i - 1) * per + j] end
    return k
  end
  return part(1), part(2)
end
`;

// reservePair(A, B): ARGV as RESERVE_PAIR_LUA's; the global ledger's reply, or the refusing ledger's with which.
const RESERVE_PAIR_FN = `
local function reservePair(A, B)
  local id, amount, ttlMs, keepMs = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
  local function on(i)
    local o = 4 + (i - 1) * 5
    return reserve(id, amount, ARGV[o + 1], ttlMs, ARGV[o + 2], ARGV[o + 3], keepMs, ARGV[o + 4], ARGV[o + 5], K[7])
  end
  K = A
  local a = on(1)
  if a[1] ~= 1 then
    a[6] = 1
    return a
  end
  K = B
  local b = on(2)
  if b[1] ~= 1 then
    K = A
    release(id)
    b[6] = 2
  end
  return b
end
`;

// settlePair(A, B): ARGV as SETTLE_PAIR_LUA's; the global ledger's reply, or the key ledger's -1, then which.
const SETTLE_PAIR_FN = `
local function settlePair(A, B)
  K = A
  local a = settle(ARGV[1], ARGV[2], ARGV[4], ARGV[5], ARGV[3])
  if a[1] == -1 then
    a[5] = 1
    return a
  end
  K = B
  local b = settle(ARGV[1], ARGV[2], ARGV[6], ARGV[7], ARGV[3])
  b[5] = 2
  return b
end
`;

/**
 * ARGV: id, amount, ttlMs, keepMs, then for each ledger (key's, global's): limit, alert, strict, readLimit,
 * defaultLimit. Holds the amount in both ledgers or in neither: a refusal (or a missing counter or limit, -1/-2) of
 * the global ledger gives back the key ledger's hold first. Returns the global ledger's
 * {status, spent, reserved, alertCrossed, limit} on success, else the answering ledger's, followed by which it was.
 */
export const RESERVE_PAIR_LUA = `${COMMON}${RESERVE_FN}${RELEASE_FN}${PAIR_KEYS}${RESERVE_PAIR_FN}
return reservePair(pairKeys(#KEYS))
`;

/**
 * ARGV: id, actual, keepMs, then each ledger's alert and strict. Settles both (idempotent per ledger); a missing
 * counter (-1) stops before the ledger it belongs to. Returns the global ledger's {status, spent, reserved,
 * alertCrossed}, or the key ledger's -1 reply; then which ledger answered.
 */
export const SETTLE_PAIR_LUA = `${COMMON}${SETTLE_FN}${PAIR_KEYS}${SETTLE_PAIR_FN}
return settlePair(pairKeys(#KEYS))
`;

// releasePair(A, B, id): gives back both ledgers' holds of id; how many were live.
const RELEASE_PAIR_FN = `
local function releasePair(A, B, id)
  K = A
  local n = release(id)
  K = B
  return n + release(id)
end
`;

/** ARGV: id. Gives back both ledgers' holds. Returns how many were live. */
export const RELEASE_PAIR_LUA = `local K = KEYS${RELEASE_FN}${PAIR_KEYS}${RELEASE_PAIR_FN}
local A, B = pairKeys(#KEYS)
return releasePair(A, B, ARGV[1])
`;

// With a slot (one Redis only: the slot's keys carry the model's hash tag, the budget's the day's). KEYS: the pair's
// 14, then the slot's 4 (limit-keys.ts).
const WITH_SLOT = `${SLOT_FNS}
local A, B = pairKeys(#KEYS - 4)
L = {KEYS[#KEYS - 3], KEYS[#KEYS - 2], KEYS[#KEYS - 1], KEYS[#KEYS]}
`;

/**
 * The hold and the model's slot in ONE call: ARGV as RESERVE_PAIR_LUA's (14), then the slot's as ACQUIRE_LUA's (9).
 * Both ledgers' holds first; only when both fit is the slot asked for, and when it is refused the holds are given
 * back, so a refusal of either leaves nothing held. Returns {status, spent, reserved, alertCrossed, limit, which
 * (0 = none), slot granted (1/0, or -1 not asked), slot value (acquiredAtMs or retryInMs), slot reason}.
 */
export const RESERVE_WITH_SLOT_LUA = `${COMMON}${RESERVE_FN}${RELEASE_FN}${PAIR_KEYS}${RESERVE_PAIR_FN}${RELEASE_PAIR_FN}${WITH_SLOT}
local b = reservePair(A, B)
local s = {-1, 0, ''}
if b[1] == 1 then
  s = acquire(ARGV, 14)
  if s[1] ~= 1 then releasePair(A, B, ARGV[1]) end
end
return {b[1], b[2], b[3], b[4], b[5], b[6] or 0, s[1], s[2], s[3] or ''}
`;

/**
 * The slot given back and both holds settled in ONE call: ARGV as SETTLE_PAIR_LUA's (7), then leaseId and
 * actualTokens ('' = keep the estimate). The slot goes first and is idempotent, so a retry after a missing counter
 * (-1) repeats it harmlessly. Returns SETTLE_PAIR_LUA's reply.
 */
export const SETTLE_WITH_SLOT_LUA = `${COMMON}${SETTLE_FN}${PAIR_KEYS}${SETTLE_PAIR_FN}${WITH_SLOT}
releaseSlot(ARGV[8], ARGV[9])
return settlePair(A, B)
`;
