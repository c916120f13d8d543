-- expire_worker: ends every lease one worker holds, as reap ends an expired
-- one (see reap_apply.lua and RedisQueue::reap_round): a task with attempts
-- left is handed out again at once, one at its attempt limit is
-- dead-lettered. Its token is dropped, so the worker's later answers are
-- stale. Leases are indexed by expiry, not by worker, so this reads every
-- lease of the queue; it runs once per dead worker, and a queue's leases
-- number its workers' concurrency, not its backlog.
-- ARGV: prefix, six dependency-error parts, worker, error (the same for
-- every task: rules::worker_expired_error).
-- Answers {ended}.
FAILED_BEFORE, FAILED_AFTER = ARGV[4], ARGV[5]
local worker, error = ARGV[8], ARGV[9]
local now = now_ms()
local ended, requeued = 0, 0
for _, id in ipairs(redis.call('ZRANGE', K_LEASED, 0, -1)) do
  local key = task_key(id)
  local f = redis.call('HMGET', key, 'status', 'worker', 'attempts', 'max_attempts')
  if is_leased(f[1]) and f[2] == worker then
    if (tonumber(f[3]) or 0) >= (tonumber(f[4]) or 0) then
      dead_letter(id, key, f[1], error, now, ARGV[2], ARGV[3], 'lease_expired')
    else
      requeue(id, key, f[1], error, now)
      requeued = requeued + 1
    end
    ended = ended + 1
  end
end
wake(requeued)
return finish({ended})
