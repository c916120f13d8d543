-- purge_expired: deletes, with every trace (`forget_task`), up to `limit`
-- tasks of one retention index that entered it before `cutoff`: the
-- finished set (completed, failed, cancelled) or the dead-letter set. Tasks
-- a dependent still needs are skipped and stay in the index; the caller
-- passes how many it skipped so far as `offset`, so the next call starts
-- after them. One call looks at no more than `budget` entries.
-- ARGV: prefix, 'finished' | 'dead', cutoff (ms), offset, limit, budget.
-- Answers {deleted, skipped, 1 when the range holds nothing more else 0}.
local dead = ARGV[2] == 'dead'
local index = dead and K_DEAD or K_FINISHED
local limit, budget = tonumber(ARGV[5]), tonumber(ARGV[6])
local ids = redis.call('ZRANGEBYSCORE', index, '-inf', '(' .. ARGV[3],
  'LIMIT', ARGV[4], int(budget))
local deleted, skipped = 0, 0
for _, id in ipairs(ids) do
  if deleted >= limit then break end
  local key = task_key(id)
  local status = redis.call('HGET', key, 'status')
  local belongs
  if dead then
    belongs = status == 'dead_lettered'
  else
    belongs = status == 'completed' or status == 'failed' or status == 'cancelled'
  end
  if not belongs then
    -- A stale entry (the task left that state, or is gone): dropped, so
    -- the range shrinks.
    redis.call('ZREM', index, id)
  elseif still_needed(id) then
    skipped = skipped + 1
  else
    forget_task(id, key, status)
    deleted = deleted + 1
  end
end
return finish({deleted, skipped, #ids < budget and 1 or 0})
