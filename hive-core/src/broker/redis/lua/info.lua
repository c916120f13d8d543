-- info: a subscription's counts: deliveries in flight across its streams
-- and entries in its dead-letter topic.
--
-- KEYS[3]: its dead-letter stream; KEYS[4..]: its replay stream and the
-- streams of the topics its patterns match. ARGV[2]: name.
-- Returns {pending, dead letters}.

local name = ARGV[2]
local pending = 0
for i = 4, #KEYS do
  local summary = try('XPENDING', KEYS[i], name)
  if summary then pending = pending + summary[1] end
end
return {pending, redis.call('XLEN', KEYS[3])}
