-- cancel: stops a task that is not final (a leased one too: its token goes
-- stale) and fails its dependents. A cancelled waiting task stays a member
-- of its dependencies' dependents sets: when they finish they skip it, as it
-- is no longer waiting, and delete the sets.
-- KEYS[9]: the task.
-- ARGV: prefix, six dependency-error parts, id.
-- Answers {'ok', hash}, {'missing'} or {'final', status}.
FAILED_BEFORE, FAILED_AFTER = ARGV[4], ARGV[5]
local now = now_ms()
local id, key = ARGV[8], KEYS[9]
local f = redis.call('HMGET', key, 'status', 'caps_key')
local status = f[1]
if not status then return {'missing'} end
if status == 'completed' or status == 'failed' or status == 'cancelled'
    or status == 'dead_lettered' then
  return {'final', status}
end
if status == 'pending' then
  redis.call('ZREM', ready_key(f[2] or ''), id)
elseif status == 'delayed' then
  redis.call('ZREM', K_DELAYED, id)
end
if is_leased(status) then end_attempt(id, 'cancelled', nil, now) end
drop_lease(id, key)
redis.call('HSET', key, 'status', 'cancelled', 'finished_at', now, 'updated_at', now)
redis.call('ZADD', K_FINISHED, now, id)
count(status, 'cancelled')
fail_dependents(id, ARGV[6], ARGV[7], now)
return finish({'ok', redis.call('HGETALL', key)})
