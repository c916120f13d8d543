-- fetch: hands a consumer up to `max` entries of a subscription: due
-- redeliveries first (dead-lettering those out of deliveries), then new
-- entries. Creates the subscription's group on any stream that lacks it.
--
-- KEYS[3]: the subscription's replay stream; KEYS[4..]: the streams of the
-- topics its patterns matched when the caller last looked.
-- ARGV[2]: name; ARGV[3]: the incarnation the caller knows; ARGV[4]:
-- consumer; ARGV[5]: max; ARGV[6]: which stream to read first (rotates, so
-- a busy topic cannot starve the others).
-- Returns {'missing'}, {'stale'} (the subscription was deleted and created
-- again), or {'ok', topic count, deliveries, last ids} where each delivery
-- is {stream number, id, fields, deliveries} and, only when there are no
-- deliveries, `last ids` holds each stream's newest id to wait after.

local name, consumer = ARGV[2], ARGV[4]
local max, rotation = tonumber(ARGV[5]), tonumber(ARGV[6])
local sub = load_sub(name)
if not sub then return {'missing'} end
if sub.id ~= ARGV[3] then return {'stale'} end
local version = redis.call('ZCARD', K_TOPICS)
local ack_ms, limit = sub.ack_timeout_ms, sub.max_deliveries
local streams = #KEYS - 2
local out = {}

-- Where a group made now starts: the replay stream from its beginning,
-- topics where the subscription started.
local function start_of(i)
  if i == 1 then return '0' end
  return sub.start
end

local now = now_ms()
local holds = hold_key(name)
-- Holds that fell due are spent; a hold set empties to nothing.
redis.call('ZREMRANGEBYSCORE', holds, '-inf', now)
local held = redis.call('EXISTS', holds) == 1

-- 1. Redeliveries: entries idle for the ack timeout.
for i = 1, streams do
  if #out >= max then break end
  local key = KEYS[2 + i]
  local pending, err = try('XPENDING', key, name, 'IDLE', ack_ms, '-', '+', max - #out)
  if not pending then
    if not is_nogroup(err) then error({err = err}) end
    ensure_group(key, name, start_of(i))
  else
    for _, p in ipairs(pending) do
      local id, owner, count = p[1], p[2], p[4]
      local due = held and redis.call('ZSCORE', holds, key .. ' ' .. id)
      if due then
        -- Held back by a nack for longer than the ack timeout: made to look
        -- freshly delivered again, so it turns idle when the hold ends.
        local idle = math.max(0, ack_ms - (tonumber(due) - now))
        redis.call('XCLAIM', key, name, owner, 0, id, 'IDLE', int(idle), 'JUSTID')
      elseif count >= limit then
        dead_letter(key, name, id, 'not acknowledged after ' .. int(count) .. ' deliveries', count)
      else
        -- XCLAIM counts the delivery; an entry trimmed away meanwhile comes
        -- back empty and leaves the pending list.
        local claimed = redis.call('XCLAIM', key, name, consumer, ack_ms, id)
        if claimed[1] then
          out[#out + 1] = {i, claimed[1][1], claimed[1][2], count + 1}
        end
      end
    end
  end
end

-- 2. New entries, stream after stream, until `max`.
if #out < max and streams > 0 then
  for j = 0, streams - 1 do
    local i = (rotation + j) % streams + 1
    local key = KEYS[2 + i]
    local got, err = try('XREADGROUP', 'GROUP', name, consumer, 'COUNT', max - #out, 'STREAMS', key, '>')
    if got == nil then
      if not is_nogroup(err) then error({err = err}) end
      ensure_group(key, name, start_of(i))
      got = redis.call('XREADGROUP', 'GROUP', name, consumer, 'COUNT', max - #out, 'STREAMS', key, '>')
    end
    if got then
      for _, e in ipairs(got[1][2]) do out[#out + 1] = {i, e[1], e[2], 1} end
    end
    if #out >= max then break end
  end
end

-- 3. Nothing: where each stream ends, for the caller to block after.
local lasts = {}
if #out == 0 then
  for i = 1, streams do
    local last = redis.call('XREVRANGE', KEYS[2 + i], '+', '-', 'COUNT', 1)[1]
    lasts[i] = last and last[1] or '0-0'
  end
end
return {'ok', version, out, lasts}
