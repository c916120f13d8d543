-- ack: acknowledges entries of a subscription, telling apart those it
-- already settled from those it never had.
--
-- KEYS[3..]: each receipt's stream. ARGV[2]: name; ARGV[3..]: each
-- receipt's id, in KEYS order.
-- Returns {'missing'} or {'ok', codes}: per receipt 1 acknowledged now,
-- 2 settled before (acknowledged or dead-lettered), 0 never delivered.

local name = ARGV[2]
if redis.call('HEXISTS', K_SUBS, name) == 0 then return {'missing'} end
local codes = {}
for i = 3, #KEYS do
  local key, id = KEYS[i], ARGV[i]
  if redis.call('XACK', key, name, id) == 1 then
    codes[#codes + 1] = 1
  elseif was_delivered(key, name, id) then
    codes[#codes + 1] = 2
  else
    codes[#codes + 1] = 0
  end
end
return {'ok', codes}
