-- reap_apply: the second half of `reap`. Applies Rust's decision for each
-- expired attempt, but only if the attempt is still the one reap_scan saw
-- (same token, same lease expiry): a heartbeat, completion or another
-- reaper in between wins, and the decision is dropped.
-- ARGV: prefix, six dependency-error parts, then per attempt: id, token,
-- lease_expires_at, 'retry' | 'dead' | 'requeue', delay_ms, error, and how
-- the attempt ends in the history ('timed_out' | 'lease_expired').
-- Answers one flag per attempt: 1 applied, 0 dropped.
FAILED_BEFORE, FAILED_AFTER = ARGV[4], ARGV[5]
local now = now_ms()
local applied = {}
local requeued = 0
for i = 8, #ARGV, 7 do
  local id, token, expiry, action = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local delay_ms, error, outcome = tonumber(ARGV[i + 4]), ARGV[i + 5], ARGV[i + 6]
  local key = task_key(id)
  local f = redis.call('HMGET', key, 'status', 'lease_token', 'lease_expires_at')
  if is_leased(f[1]) and f[2] == token and f[3] == expiry then
    if action == 'retry' then
      retry_later(id, key, f[1], error, now + delay_ms, now, outcome)
    elseif action == 'dead' then
      dead_letter(id, key, f[1], error, now, ARGV[2], ARGV[3], outcome)
    else
      requeue(id, key, f[1], error, now)
      requeued = requeued + 1
    end
    applied[#applied + 1] = 1
  else
    applied[#applied + 1] = 0
  end
end
wake(requeued)
return finish(applied)
