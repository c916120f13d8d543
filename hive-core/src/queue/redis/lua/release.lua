-- release: gives a leased task back at once; the attempt does not count,
-- so its history entry goes.
-- KEYS[9]: the task. ARGV: prefix, id, token.
-- Answers {'ok'} or a refusal.
local now = now_ms()
local id, key, token = ARGV[2], KEYS[9], ARGV[3]
local f = redis.call('HMGET', key, 'status', 'lease_token', 'deadline')
if not is_leased(f[1]) or f[2] ~= token then return refusal(f) end
redis.call('HSET', key, 'status', 'pending', 'updated_at', now)
redis.call('HINCRBY', key, 'attempts', -1)
drop_lease(id, key)
drop_open_attempt(id)
enqueue_ready(id, key)
count(f[1], 'pending')
wake(1)
return finish({'ok'})
