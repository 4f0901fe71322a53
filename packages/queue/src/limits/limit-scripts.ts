import { LUA_CHUNKS, LUA_INT, LUA_NOW_MS } from './lua-command.ts';

// All scripts: L = window, tokens, leases, holders (see limit-keys.ts): KEYS, or the limiter's slice of them in a
// script that also holds the budget (budget-scripts.ts, RESERVE_WITH_SLOT_LUA).

const PRUNE = `
-- Window entries count while their time is > now - span; older ones leave, and their tokens leave the tpm sum.
local function pruneWindow(now, span)
  local old = redis.call('ZRANGEBYSCORE', L[1], '-inf', now - span)
  if #old == 0 then return end
  local freed = 0
  chunks(old, function(...)
    for _, n in ipairs(redis.call('HMGET', L[2], ...)) do freed = freed + (tonumber(n) or 0) end
    redis.call('ZREM', L[1], ...)
    redis.call('HDEL', L[2], ...)
  end)
  redis.call('HINCRBY', L[2], '#sum', int(-freed))
  -- An empty window holds no tokens; dropping the hash then keeps #sum from ever drifting for long.
  if redis.call('ZCARD', L[1]) == 0 then redis.call('DEL', L[2]) end
end

-- A lease past its expiry belongs to a worker that died or stopped heartbeating: its slot is free again.
local function pruneLeases(now)
  local dead = redis.call('ZRANGEBYSCORE', L[3], '-inf', now)
  chunks(dead, function(...)
    redis.call('ZREM', L[3], ...)
    redis.call('HDEL', L[4], ...)
  end)
end
`;

const KEEP_FOR_FN = `
-- Lease keys must outlive their longest lease; they vanish on their own once a model goes idle.
local function keepFor(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
`;

// acquire(A, o): ARGV from A[o + 1] as ACQUIRE_LUA's. A table and an offset, so a script that also holds the budget
// passes its own ARGV with the slot's part after the budget's.
const ACQUIRE_FN = `
local function acquire(A, o)
  local id, holder = A[o + 1], A[o + 2]
  local rpm, maxc, tpm = tonumber(A[o + 3]), tonumber(A[o + 4]), tonumber(A[o + 5])
  local est, leaseMs, span, poll = tonumber(A[o + 6]), tonumber(A[o + 7]), tonumber(A[o + 8]), tonumber(A[o + 9])
  local now = nowMs()

  -- A command resent by ioredis after a lost reply must not take a second slot.
  local held = redis.call('ZSCORE', L[3], id)
  if held and tonumber(held) > now then return {1, now} end

  pruneWindow(now, span)
  pruneLeases(now)

  local wait, reason = 0, ''
  local function need(ms, why)
    if ms > wait then wait, reason = ms, why end
  end

  -- rpm: the entry whose departure brings the count below rpm (the oldest, unless rpm was lowered) sets the wait.
  local count = redis.call('ZCARD', L[1])
  if count >= rpm then
    local e = redis.call('ZRANGE', L[1], count - rpm, count - rpm, 'WITHSCORES')
    need(tonumber(e[2]) + span - now, 'rpm')
  end

  -- concurrency: a lease frees at the latest when it expires, but releases usually come much sooner, so poll.
  local live = redis.call('ZCARD', L[3])
  if live >= maxc then
    local e = redis.call('ZRANGE', L[3], live - maxc, live - maxc, 'WITHSCORES')
    need(math.min(tonumber(e[2]) - now, poll), 'concurrency')
  end

  -- tpm: a request bigger than the whole budget passes when the window holds no tokens, or it would wait forever.
  if tpm > 0 then
    local sum = tonumber(redis.call('HGET', L[2], '#sum') or '0')
    if sum > 0 and sum + est > tpm then
      -- Walk the window oldest first until enough tokens have left for this request to fit.
      local left, at, i = sum, nil, 0
      while not at do
        local e = redis.call('ZRANGE', L[1], i, i + 127, 'WITHSCORES')
        if #e == 0 then break end
        local ids = {}
        for j = 1, #e, 2 do ids[#ids + 1] = e[j] end
        local n = redis.call('HMGET', L[2], unpack(ids))
        for j = 1, #ids do
          left = left - (tonumber(n[j]) or 0)
          if left <= 0 or left + est <= tpm then at = tonumber(e[2 * j]); break end
        end
        i = i + 128
      end
      need(at and (at + span - now) or poll, 'tpm')
    end
  end

  if wait > 0 then return {0, math.max(1, wait), reason} end

  redis.call('ZADD', L[1], now, id)
  redis.call('HSET', L[2], id, est)
  redis.call('HINCRBY', L[2], '#sum', est)
  redis.call('PEXPIRE', L[1], span)
  redis.call('PEXPIRE', L[2], span)
  redis.call('ZADD', L[3], now + leaseMs, id)
  redis.call('HSET', L[4], id, holder)
  keepFor(L[3], leaseMs)
  keepFor(L[4], leaseMs)
  return {1, now}
end
`;

// releaseSlot(id, actual): see RELEASE_LUA.
const RELEASE_FN = `
local function releaseSlot(id, actual)
  local released = redis.call('ZREM', L[3], id)
  redis.call('HDEL', L[4], id)
  local settled = 0
  if actual ~= '' then
    local reserved = redis.call('HGET', L[2], id)
    if reserved then
      redis.call('HSET', L[2], id, actual)
      redis.call('HINCRBY', L[2], '#sum', int(tonumber(actual) - tonumber(reserved)))
      settled = 1
    end
  end
  return {released, settled}
end
`;

/**
 * The slot's Lua functions over the key table L (KEYS, unless a script points L at its slice of KEYS): acquire and
 * releaseSlot. Needs LUA_NOW_MS, LUA_INT and LUA_CHUNKS before it.
 */
export const SLOT_FNS = `
local L = KEYS${PRUNE}${KEEP_FOR_FN}${ACQUIRE_FN}${RELEASE_FN}`;

const HELPERS = `${LUA_NOW_MS}${LUA_INT}${LUA_CHUNKS}`;

/**
 * ARGV: leaseId, holder, rpm, maxConcurrency, tpm (0 = none), estimatedTokens, leaseMs, spanMs, pollMs.
 * Returns {1, nowMs} when granted, {0, retryInMs, reason} when not. Checks all three limits first and records all
 * three only when all fit, so a denied call leaves no trace.
 */
export const ACQUIRE_LUA = `${HELPERS}${SLOT_FNS}
return acquire(ARGV, 0)
`;

/**
 * ARGV: leaseId, actualTokens ('' = keep the estimate). Returns {released, settled}. The window entry stays: a
 * started request counts for rpm. Settling rewrites the entry's tokens in place (it keeps its acquisition time);
 * an entry that already left the window is not re-added — its estimate was counted for a full window.
 */
export const RELEASE_LUA = `${HELPERS}${SLOT_FNS}
return releaseSlot(ARGV[1], ARGV[2])
`;

/** ARGV: leaseId, leaseMs. Returns 1 when the live lease now expires leaseMs from now, 0 when it was already lost. */
export const EXTEND_LUA = `${LUA_NOW_MS}${KEEP_FOR_FN}
local id, leaseMs = ARGV[1], tonumber(ARGV[2])
local now = nowMs()
local exp = redis.call('ZSCORE', KEYS[3], id)
if not exp or tonumber(exp) <= now then return 0 end
redis.call('ZADD', KEYS[3], 'XX', now + leaseMs, id)
keepFor(KEYS[3], leaseMs)
keepFor(KEYS[4], leaseMs)
return 1
`;

/**
 * ARGV: spanMs. Read-only snapshot: {nowMs, requests, tokens, {leaseId, holder, expiresAtMs, ...}}. Counts only
 * live entries, whether or not a prune has run yet.
 */
export const STATE_LUA = `${LUA_NOW_MS}${LUA_INT}
local span = tonumber(ARGV[1])
local now = nowMs()
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. int(now - span), '+inf')
local tokens = 0
for i = 1, #ids, 500 do
  for _, n in ipairs(redis.call('HMGET', KEYS[2], unpack(ids, i, math.min(i + 499, #ids)))) do
    tokens = tokens + (tonumber(n) or 0)
  end
end
local leases = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. int(now), '+inf', 'WITHSCORES')
local out = {}
for i = 1, #leases, 2 do
  out[#out + 1] = leases[i]
  out[#out + 1] = redis.call('HGET', KEYS[4], leases[i]) or ''
  out[#out + 1] = leases[i + 1]
end
return {now, #ids, tokens, out}
`;

/** No ARGV. Live leases right now (expired ones excluded without waiting for a prune). */
export const IN_FLIGHT_LUA = `${LUA_NOW_MS}${LUA_INT}
return redis.call('ZCOUNT', KEYS[3], '(' .. int(nowMs()), '+inf')
`;
