-- purge_dead_letters: deletes dead letters with every trace of them
-- (`forget_task`), their idempotency keys included (so the key may be used
-- again, as when a SQL row is deleted).
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
  if redis.call('HGET', key, 'status') == 'dead_lettered' then
    forget_task(id, key, 'dead_lettered')
    purged = purged + 1
  elseif everything then
    -- Not a dead letter (any more): a stale index entry, dropped so the
    -- caller's loop ends.
    redis.call('ZREM', K_DEAD, id)
  end
end
return finish({purged, #ids})
