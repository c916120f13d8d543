-- nack: gives a delivery back, to be retried after a delay or
-- dead-lettered now.
--
-- KEYS[3]: the delivery's stream. ARGV[2]: name; ARGV[3]: entry id;
-- ARGV[4]: 'retry' or 'reject'; ARGV[5]: the delay (ms) of a retry;
-- ARGV[6]: the reason of a rejection.
-- Returns {'ok'}, {'missing'}, {'settled'} (acknowledged or dead-lettered
-- before) or {'unknown'} (never delivered).

local name, key, id = ARGV[2], KEYS[3], ARGV[3]
local sub = load_sub(name)
if not sub then return {'missing'} end
local pending = try('XPENDING', key, name, id, id, 1)
if not pending or not pending[1] then
  if was_delivered(key, name, id) then return {'settled'} end
  return {'unknown'}
end
local owner, count = pending[1][2], pending[1][4]
if ARGV[4] == 'reject' then
  dead_letter(key, name, id, ARGV[6], count)
  return {'ok'}
end

-- An entry is redelivered once idle for the ack timeout: backdating its
-- delivery makes it due after `after`. JUSTID leaves its delivery count
-- alone; the redelivery counts. Redis caps a delivery time at now, so a
-- delay beyond the ack timeout is kept in the hold set, which fetch honours.
local after, ack_ms = tonumber(ARGV[5]), sub.ack_timeout_ms
local member = key .. ' ' .. id
if after <= ack_ms then
  redis.call('XCLAIM', key, name, owner, 0, id, 'IDLE', int(ack_ms - after), 'JUSTID')
  redis.call('ZREM', hold_key(name), member)
else
  redis.call('XCLAIM', key, name, owner, 0, id, 'IDLE', 0, 'JUSTID')
  redis.call('ZADD', hold_key(name), int(now_ms() + after), member)
end
return {'ok'}
