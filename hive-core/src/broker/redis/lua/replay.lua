-- replay: moves dead letters back to their subscription, through its
-- private replay stream, where they start again at one delivery.
--
-- KEYS[3]: its dead-letter stream; KEYS[4]: its replay stream.
-- ARGV[2]: name; ARGV[3]: how many to move when no ids are given;
-- ARGV[4..]: the dead letters' ids (none: the oldest ARGV[3]).
-- Returns {'missing'} or {'ok', moved}.

local name, dead, replay = ARGV[2], KEYS[3], KEYS[4]
if redis.call('HEXISTS', K_SUBS, name) == 0 then return {'missing'} end
ensure_group(replay, name, '0')
local entries = {}
if #ARGV >= 4 then
  for i = 4, #ARGV do
    local e = redis.call('XRANGE', dead, ARGV[i], ARGV[i])[1]
    if e then entries[#entries + 1] = e end
  end
else
  entries = redis.call('XRANGE', dead, '-', '+', 'COUNT', tonumber(ARGV[3]))
end
for _, e in ipairs(entries) do
  redis.call('XADD', replay, '*', 'm', field(e[2], 'm') or '')
  redis.call('XDEL', dead, e[1])
end
return {'ok', #entries}
