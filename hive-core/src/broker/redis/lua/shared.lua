-- Shared by every script of the Redis broker: the clock, stream ids, error
-- handling, subscription records, group creation and dead-lettering. Redis
-- scripts cannot import one another, so scripts.rs prepends this file to each
-- operation's file.
--
-- Every script gets KEYS[1] = `<prefix>:subs` (subscription records) and
-- KEYS[2] = `<prefix>:topics` (known topics), then the streams it works on;
-- ARGV[1] is the key prefix. The per-subscription keys a script needs but the
-- caller does not name (the dead-letter stream, the hold set) are derived
-- from the prefix here, the way keys.rs derives them.

local K_SUBS, K_TOPICS = KEYS[1], KEYS[2]
local PREFIX = ARGV[1]
local CHANNEL = PREFIX .. ':new-topic'

-- The largest sequence number: `<ms>-MAX_SEQ` is the last id of millisecond
-- `ms`, so a group set there delivers from millisecond `ms + 1` on.
local MAX_SEQ = '18446744073709551615'

-- The stream fields that turn into `hive-dead-*` headers when read (they
-- must match `dead_letter_headers` in subscription.rs).
local DEAD_REASON = 'hive-dead-reason'
local DEAD_SUBSCRIPTION = 'hive-dead-subscription'
local DEAD_DELIVERIES = 'hive-dead-deliveries'

-- Integers as text ("%d"; Redis would format a Lua number with "%.17g").
local function int(x) return string.format('%d', x) end

-- Redis's clock, so every process agrees on what "now" is.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Runs a command; returns its reply, or nil and the error text. (A nil
-- bulk reply reads as `false`, which is not an error.)
local function try(...)
  local reply = redis.pcall(...)
  if type(reply) == 'table' and reply.err then return nil, reply.err end
  return reply
end

local function is_nogroup(err) return string.sub(err, 1, 7) == 'NOGROUP' end

-- The millisecond part of a stream id.
local function ms_of(id) return string.match(id, '^(%d+)') end

-- True when stream id `a` is at or before `b`.
local function id_at_or_before(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if not am or not bm then return false end
  am, bm = tonumber(am), tonumber(bm)
  if am ~= bm then return am < bm end
  return tonumber(as) <= tonumber(bs)
end

-- A value in a flat `field, value, ...` list.
local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end

local function stream_key(topic) return PREFIX .. ':t:' .. topic end
local function hold_key(name) return PREFIX .. ':hold:' .. name end

-- The stored subscription `name`, decoded; nil when there is none.
local function load_sub(name)
  local raw = redis.call('HGET', K_SUBS, name)
  if not raw then return nil end
  return cjson.decode(raw)
end

-- Registers a topic on its first message and announces it, so waiting
-- fetches of matching subscriptions look again.
local function register(topic, ms)
  if redis.call('ZADD', K_TOPICS, 'NX', ms, topic) == 1 then
    redis.call('PUBLISH', CHANNEL, topic)
  end
end

-- Creates the group `name` on stream `key` at `start` unless it exists.
local function ensure_group(key, name, start)
  local ok, err = try('XGROUP', 'CREATE', key, name, start, 'MKSTREAM')
  if not ok and string.sub(err, 1, 9) ~= 'BUSYGROUP' then error({err = err}) end
end

-- Whether entry `id` of `key` was delivered to group `name` at some point:
-- it still exists and the group has read past it. Tells an acknowledged
-- receipt (a conflict) from one the subscription never had (not found).
local function was_delivered(key, name, id)
  if not redis.call('XRANGE', key, id, id)[1] then return false end
  local groups = try('XINFO', 'GROUPS', key)
  if not groups then return false end
  for _, g in ipairs(groups) do
    if field(g, 'name') == name then
      return id_at_or_before(id, field(g, 'last-delivered-id') or '0-0')
    end
  end
  return false
end

-- Takes entry `id` of `key` out of subscription `name`'s pending list and
-- appends its message to the subscription's dead-letter topic with why. An
-- entry trimmed away meanwhile is only acknowledged: there is nothing left
-- to keep.
local function dead_letter(key, name, id, reason, deliveries)
  local entry = redis.call('XRANGE', key, id, id)[1]
  redis.call('XACK', key, name, id)
  redis.call('ZREM', hold_key(name), key .. ' ' .. id)
  if not entry then return end
  local topic = '_hive.dead.' .. name
  local dead_id = redis.call('XADD', stream_key(topic), '*',
    'm', field(entry[2], 'm') or '',
    DEAD_REASON, reason,
    DEAD_SUBSCRIPTION, name,
    DEAD_DELIVERIES, int(deliveries))
  register(topic, ms_of(dead_id))
end
