import { LUA_INT, LUA_NOW_MS } from '../limits/lua-command.ts';

/** Signals of a model nobody calls any more fade: a day after its last call it is unmeasured and healthy again. */
export const SIGNAL_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Records a batch of one model's outcomes and moves its circuit.
 * KEYS: latency, outcomes, circuit. ARGV: latency samples kept, health window, min outcomes, max error rate,
 * failures in a row, cooldown ms, max cooldown ms, ttl ms, then triples (kind, ms, output tokens) oldest first:
 * kind "s" = answered, "f" = the model failed.
 *
 * A success closes the circuit and empties the error window (the model recovered: old failures no longer count).
 * A failure opens a closed circuit when the streak or the error rate says so; a failure while half-open (the
 * cooldown passed: this was the probe or a call made meanwhile) reopens it with twice the cooldown, up to the max.
 */
export const RECORD_SIGNALS = `${LUA_NOW_MS}${LUA_INT}
local now = nowMs()
local keep, window, minOut = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local maxRate, inRow = tonumber(ARGV[4]), tonumber(ARGV[5])
local cooldown, maxCooldown, ttl = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local c = redis.call('HMGET', KEYS[3], 'streak', 'open_until', 'cooldown')
local streak = tonumber(c[1]) or 0
local openUntil = tonumber(c[2])
local lastCooldown = tonumber(c[3]) or 0
for i = 9, #ARGV, 3 do
  if ARGV[i] == 's' then
    redis.call('LPUSH', KEYS[1], ARGV[i + 1] .. ':' .. ARGV[i + 2])
    streak = 0
    if openUntil then
      openUntil = nil
      lastCooldown = 0
      redis.call('DEL', KEYS[2])
    end
    redis.call('LPUSH', KEYS[2], '0')
  else
    streak = streak + 1
    redis.call('LPUSH', KEYS[2], '1')
    redis.call('LTRIM', KEYS[2], 0, window - 1)
    if openUntil then
      if openUntil <= now then
        lastCooldown = math.min(maxCooldown, math.max(cooldown, lastCooldown * 2))
        openUntil = now + lastCooldown
        redis.call('HDEL', KEYS[3], 'probe_until')
      end
    else
      local recent = redis.call('LRANGE', KEYS[2], 0, -1)
      local failed = 0
      for _, v in ipairs(recent) do if v == '1' then failed = failed + 1 end end
      if streak >= inRow or (#recent >= minOut and failed / #recent >= maxRate) then
        lastCooldown = cooldown
        openUntil = now + cooldown
        redis.call('HDEL', KEYS[3], 'probe_until')
      end
    end
  end
end
redis.call('LTRIM', KEYS[1], 0, keep - 1)
redis.call('LTRIM', KEYS[2], 0, window - 1)
redis.call('HSET', KEYS[3], 'streak', int(streak), 'cooldown', int(lastCooldown))
if openUntil then redis.call('HSET', KEYS[3], 'open_until', int(openUntil))
else redis.call('HDEL', KEYS[3], 'open_until', 'probe_until') end
for k = 1, 3 do redis.call('PEXPIRE', KEYS[k], ttl) end
return openUntil and 1 or 0
`;

/**
 * Reads one model's signals; with ARGV[1] = "claim" and the circuit half-open and no probe out, also takes the probe
 * for ARGV[2] ms (one planner, across all API instances, may put the model back in its place for one task).
 * KEYS: latency, outcomes, circuit. Returns [latencies, outcomes, open_until or false, 1 if the probe was taken, now].
 */
export const READ_SIGNALS = `${LUA_NOW_MS}${LUA_INT}
local now = nowMs()
local c = redis.call('HMGET', KEYS[3], 'open_until', 'probe_until')
local openUntil = tonumber(c[1])
local claimed = 0
if ARGV[1] == 'claim' and openUntil and openUntil <= now and (tonumber(c[2]) or 0) <= now then
  redis.call('HSET', KEYS[3], 'probe_until', int(now + tonumber(ARGV[2])))
  claimed = 1
end
return { redis.call('LRANGE', KEYS[1], 0, -1), redis.call('LRANGE', KEYS[2], 0, -1), c[1] or false, claimed, int(now) }
`;
