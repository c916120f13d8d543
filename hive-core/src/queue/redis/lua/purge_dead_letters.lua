-- purge_dead_letters: deletes dead letters, with their idempotency keys (so
-- the key may be used again, as when a SQL row is deleted).
-- ARGV: prefix, limit, then the ids to purge; with no ids, purges up to
-- `limit` of the dead-letter set (the caller repeats until it is empty).
-- Answers {purged, ids looked at}.
local ids = {}
local everything = #ARGV == 2
if everything then
  ids = redis.call('ZRANGE', K_DEAD, 0, tonumber(ARGV[2]) - 1)
else
  for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end
end
local purged = 0
for _, id in ipairs(ids) do
  local key = task_key(id)
  local f = redis.call('HMGET', key, 'status', 'idempotency_key')
  if f[1] == 'dead_lettered' then
    redis.call('DEL', key, dependents_key(id), attempts_key(id))
    if f[2] and redis.call('HGET', K_IDEM, f[2]) == id then
      redis.call('HDEL', K_IDEM, f[2])
    end
    redis.call('ZREM', K_DEAD, id)
    redis.call('ZREM', K_ALL, id)
    purged = purged + 1
  elseif everything then
    -- Not a dead letter (any more): a stale index entry, dropped so the
    -- caller's loop ends.
    redis.call('ZREM', K_DEAD, id)
  end
end
count('dead_lettered', nil, purged)
return finish({purged, #ids})
