-- list: one step of `Queue::list`. Walks the all-tasks index (K_ALL) in id
-- order (descending when newest first) from just past the cursor, reads the three fields the filter
-- needs from each task, and answers the full hash of those that pass.
-- It stops after `want` matches or `budget` ids looked at, so that one
-- call never holds the server for long however sparse the matches are;
-- the caller continues from the id it answers.
-- ARGV: prefix, cursor ('' for the start), want, budget, statuses joined by
-- ',' ('' for any), type given ('0'/'1'), type, worker given ('0'/'1'),
-- worker, newest first ('0'/'1').
-- Answers {last id looked at (the cursor if none), 1 when the index ran
-- out else 0, task hashes...}.
local cursor, want, budget = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local statuses, any_status = {}, ARGV[5] == ''
for s in string.gmatch(ARGV[5], '[^,]+') do statuses[s] = true end
local want_type = ARGV[6] == '1' and ARGV[7] or nil
local want_worker = ARGV[8] == '1' and ARGV[9] or nil

local ids
if ARGV[10] == '1' then
  local from = cursor == '' and '+' or '(' .. cursor
  ids = redis.call('ZREVRANGEBYLEX', K_ALL, from, '-', 'LIMIT', 0, budget)
else
  local from = cursor == '' and '-' or '(' .. cursor
  ids = redis.call('ZRANGEBYLEX', K_ALL, from, '+', 'LIMIT', 0, budget)
end
local reply = {cursor, #ids < budget and 1 or 0}
local found = 0
for _, id in ipairs(ids) do
  reply[1] = id
  local key = task_key(id)
  -- An absent field reads as false, which matches no wanted value.
  local f = redis.call('HMGET', key, 'status', 'task_type', 'worker')
  if f[1] and (any_status or statuses[f[1]])
      and (not want_type or f[2] == want_type)
      and (not want_worker or f[3] == want_worker) then
    reply[#reply + 1] = redis.call('HGETALL', key)
    found = found + 1
    if found == want then break end
  end
end
return reply
