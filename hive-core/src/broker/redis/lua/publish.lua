-- publish: appends a batch of messages to their topics' streams, in order,
-- and registers topics seen for the first time.
--
-- KEYS[3..]: the batch's streams, one per distinct topic.
-- ARGV[2]: the approximate length cap ('' for none); ARGV[3]: the number of
-- topics T; ARGV[4..3+T]: their names, in KEYS order; then per message its
-- stream's number (1..T) and its JSON.
-- Returns the entry ids, in the batch's order.

local cap = ARGV[2]
local topics = tonumber(ARGV[3])
local first = {}
local ids = {}
for i = 4 + topics, #ARGV, 2 do
  local s = tonumber(ARGV[i])
  local key = KEYS[2 + s]
  local id
  if cap == '' then
    id = redis.call('XADD', key, '*', 'm', ARGV[i + 1])
  else
    id = redis.call('XADD', key, 'MAXLEN', '~', cap, '*', 'm', ARGV[i + 1])
  end
  ids[#ids + 1] = id
  if not first[s] then first[s] = id end
end
for s = 1, topics do
  if first[s] then register(ARGV[3 + s], ms_of(first[s])) end
end
return ids
