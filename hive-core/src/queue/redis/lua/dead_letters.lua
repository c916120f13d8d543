-- dead_letters: a page of dead-lettered tasks, newest first, read in one
-- consistent step. ARGV: prefix, offset, limit (at least 1).
-- Answers the tasks' hashes.
local offset = tonumber(ARGV[2])
local ids = redis.call('ZREVRANGE', K_DEAD, offset, offset + tonumber(ARGV[3]) - 1)
local tasks = {}
for _, id in ipairs(ids) do
  local h = redis.call('HGETALL', task_key(id))
  if #h > 0 then tasks[#tasks + 1] = h end
end
return tasks
