-- seek: moves a subscription's groups to a position; what follows is
-- delivered again. Groups made later on topics that appear later start
-- there too.
--
-- KEYS[3..]: the streams of the topics its patterns match.
-- ARGV[2]: name; ARGV[3]: how many topics the caller knew of; ARGV[4]:
-- 'new' or the id the groups go to (what follows it is delivered).
-- Returns {'ok'}, {'missing'} or {'retry'} when topics appeared since the
-- caller matched them.

local name, target = ARGV[2], ARGV[4]
local sub = load_sub(name)
if not sub then return {'missing'} end
if redis.call('ZCARD', K_TOPICS) ~= tonumber(ARGV[3]) then return {'retry'} end
local group_id = target
if target == 'new' then
  group_id = '$'
  sub.start = int(now_ms() - 1) .. '-' .. MAX_SEQ
else
  sub.start = target
end
for i = 3, #KEYS do
  if not try('XGROUP', 'SETID', KEYS[i], name, group_id) then
    ensure_group(KEYS[i], name, group_id)
  end
end
redis.call('HSET', K_SUBS, name, cjson.encode(sub))
return {'ok'}
