-- subscribe: creates a subscription with its groups, or resumes it.
--
-- KEYS[3]: the subscription's replay stream; KEYS[4..]: the streams of the
-- topics its patterns match now, as far as the caller knows (a group on a
-- topic it does not know yet is made by the first fetch that meets the
-- topic, from the subscription's start, which comes to the same).
-- ARGV[2]: name; ARGV[3]: its patterns, sorted and space-separated (a
-- pattern has no spaces); ARGV[4]: ack timeout (ms); ARGV[5]: max
-- deliveries; ARGV[6]: where a new one starts ('new', or the id its groups
-- start after); ARGV[7]: the id of this incarnation, should it be created.
-- Returns {'created' | 'resumed', record} or {'conflict', patterns}.

local name = ARGV[2]

local raw = redis.call('HGET', K_SUBS, name)
if raw then
  local sub = cjson.decode(raw)
  if sub.patterns ~= ARGV[3] then return {'conflict', sub.patterns} end
  sub.ack_timeout_ms = tonumber(ARGV[4])
  sub.max_deliveries = tonumber(ARGV[5])
  raw = cjson.encode(sub)
  redis.call('HSET', K_SUBS, name, raw)
  -- Groups lost, or not made yet, start where the subscription did.
  ensure_group(KEYS[3], name, '0')
  for i = 4, #KEYS do ensure_group(KEYS[i], name, sub.start) end
  return {'resumed', raw}
end

local now = now_ms()
local start = ARGV[6]
-- Where groups made later (on topics that appear later) start: a 'new'
-- subscription takes everything from its creation on.
local later = start
if start == 'new' then later = int(now - 1) .. '-' .. MAX_SEQ end
local sub = {
  id = ARGV[7],
  patterns = ARGV[3],
  created_ms = now,
  ack_timeout_ms = tonumber(ARGV[4]),
  max_deliveries = tonumber(ARGV[5]),
  start = later,
}
raw = cjson.encode(sub)
redis.call('HSET', K_SUBS, name, raw)
-- Whatever an earlier subscription of this name left behind is reset.
redis.call('DEL', KEYS[3], hold_key(name))
redis.call('XGROUP', 'CREATE', KEYS[3], name, '0', 'MKSTREAM')
local now_id = start
if start == 'new' then now_id = '$' end
for i = 4, #KEYS do
  try('XGROUP', 'DESTROY', KEYS[i], name)
  redis.call('XGROUP', 'CREATE', KEYS[i], name, now_id, 'MKSTREAM')
end
return {'created', raw}
