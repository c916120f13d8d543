-- trim: applies retention to streams: at most a number of entries, none
-- older than an age (by the server's clock, which stamped the ids).
--
-- KEYS[3..]: the streams. ARGV[2]: entries to keep ('' for no limit);
-- ARGV[3]: the age limit in ms ('' for none).
-- Returns the entries removed, per stream.

local keep, age = ARGV[2], ARGV[3]
local now = now_ms()
local removed = {}
for i = 3, #KEYS do
  local n = 0
  if keep ~= '' then n = n + redis.call('XTRIM', KEYS[i], 'MAXLEN', '=', keep) end
  if age ~= '' then
    n = n + redis.call('XTRIM', KEYS[i], 'MINID', '=', int(now - tonumber(age)) .. '-0')
  end
  removed[#removed + 1] = n
end
return removed
