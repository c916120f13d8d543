-- retry_dead_letter: moves a dead-lettered task back to pending with a fresh
-- attempt budget. Its dependents, already failed, stay failed; the error
-- that dead-lettered it stays in its history only.
-- KEYS[9]: the task. ARGV: prefix, id.
-- Answers {'ok', hash}, {'missing'} or {'conflict', status}.
local now = now_ms()
local id, key = ARGV[2], KEYS[9]
local status = redis.call('HGET', key, 'status')
if not status then return {'missing'} end
if status ~= 'dead_lettered' then return {'conflict', status} end
redis.call('ZREM', K_DEAD, id)
redis.call('HSET', key, 'status', 'pending', 'attempts', 0, 'updated_at', now)
redis.call('HDEL', key, 'finished_at', 'run_at', 'error')
enqueue_ready(id, key)
count('dead_lettered', 'pending')
wake(1)
return finish({'ok', redis.call('HGETALL', key)})
