-- reap_scan: the first half of `reap`. Promotes due delayed tasks and lists
-- the leased tasks whose lease ran out, with what Rust needs to decide their
-- fate (rules::deadline_error, rules::lease_expired_error,
-- rules::after_failure); reap_apply then applies the decisions. Leases are
-- never longer than the attempt's deadline, so the lease index also finds
-- every attempt past its deadline.
-- ARGV: prefix, limit.
-- Answers {now, promoted, {{id, token, deadline, attempts, max_attempts,
-- timeout_ms, worker, lease_expires_at}, ...}}.
local now = now_ms()
local promoted = promote_due(now, 1000)
wake(promoted)
local expired = redis.call('ZRANGEBYSCORE', K_LEASED, '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local found = {}
for _, id in ipairs(expired) do
  local f = redis.call('HMGET', task_key(id), 'status', 'lease_token', 'deadline', 'attempts',
    'max_attempts', 'timeout_ms', 'worker', 'lease_expires_at')
  if is_leased(f[1]) then
    found[#found + 1] = {id, f[2], f[3], f[4], f[5], f[6], f[7] or '', f[8]}
  else
    redis.call('ZREM', K_LEASED, id)
  end
end
return finish({now, promoted, found})
