-- heartbeat: extends a live lease by its length, never past the attempt's
-- deadline, and marks the task in_progress. Past the deadline the token is
-- refused even though it is current: the reaper is about to fail the attempt.
-- KEYS[9]: the task. ARGV: prefix, id, token.
-- Answers {'ok', new expiry} or a refusal (with Redis's now).
local now = now_ms()
local id, key, token = ARGV[2], KEYS[9], ARGV[3]
local f = redis.call('HMGET', key, 'status', 'lease_token', 'deadline', 'lease_ms')
local deadline = tonumber(f[3])
if not is_leased(f[1]) or f[2] ~= token or not deadline or deadline <= now then
  return refusal(f, now)
end
local expires = math.min(now + tonumber(f[4]), deadline)
redis.call('HSET', key, 'status', 'in_progress', 'lease_expires_at', expires, 'updated_at', now)
redis.call('ZADD', K_LEASED, expires, id)
if f[1] == 'assigned' then count('assigned', 'in_progress') end
return finish({'ok', expires})
