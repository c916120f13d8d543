-- unsubscribe: deletes a subscription, its groups (and so its pending
-- deliveries), its replayed and held entries and its dead letters.
--
-- KEYS[3]: its replay stream; KEYS[4]: its dead-letter stream; KEYS[5..]:
-- the streams of the topics its patterns match.
-- ARGV[2]: name; ARGV[3]: how many topics the caller knew of.
-- Returns {'ok'}, {'missing'}, or {'retry'} when topics appeared since the
-- caller matched them.

local name = ARGV[2]
if redis.call('HEXISTS', K_SUBS, name) == 0 then return {'missing'} end
if redis.call('ZCARD', K_TOPICS) ~= tonumber(ARGV[3]) then return {'retry'} end
for i = 5, #KEYS do try('XGROUP', 'DESTROY', KEYS[i], name) end
redis.call('DEL', KEYS[3], hold_key(name))
-- Trimmed rather than deleted: the dead-letter topic may have groups of
-- other subscriptions (`_hive.dead.>`), which must survive.
if redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('XTRIM', KEYS[4], 'MAXLEN', '=', 0)
end
redis.call('HDEL', K_SUBS, name)
return {'ok'}
