-- purge: deletes dead letters of a subscription.
--
-- KEYS[3]: its dead-letter stream. ARGV[2]: name; ARGV[3..]: the ids to
-- delete (none: all of them).
-- Returns {'missing'} or {'ok', deleted}.

local name, dead = ARGV[2], KEYS[3]
if redis.call('HEXISTS', K_SUBS, name) == 0 then return {'missing'} end
if #ARGV >= 3 then
  return {'ok', redis.call('XDEL', dead, unpack(ARGV, 3))}
end
if redis.call('EXISTS', dead) == 0 then return {'ok', 0} end
-- Trimmed rather than deleted, so groups on the topic survive.
return {'ok', redis.call('XTRIM', dead, 'MAXLEN', '=', 0)}
