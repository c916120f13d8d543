-- fail: settles a failed attempt as the caller decided it (rules::after_failure
-- in Rust, from the attempts it read): retry after a delay, or dead-letter
-- and fail the dependents. The token is checked again here, so a decision
-- made for an attempt that has since ended changes nothing.
-- KEYS[9]: the task.
-- ARGV: prefix, six dependency-error parts (dead-lettered, failed,
-- cancelled: before and after the id), id, token, 'retry' | 'dead',
-- delay_ms, error.
-- Answers {'retry', run_at}, {'dead'} or a refusal.
FAILED_BEFORE, FAILED_AFTER = ARGV[4], ARGV[5]
local now = now_ms()
local id, key, token = ARGV[8], KEYS[9], ARGV[9]
local f = redis.call('HMGET', key, 'status', 'lease_token', 'deadline')
if not is_leased(f[1]) or f[2] ~= token then return refusal(f) end
if ARGV[10] == 'retry' then
  local run_at = now + tonumber(ARGV[11])
  retry_later(id, key, f[1], ARGV[12], run_at, now, 'failed')
  return finish({'retry', run_at})
end
dead_letter(id, key, f[1], ARGV[12], now, ARGV[2], ARGV[3], 'failed')
return finish({'dead'})
