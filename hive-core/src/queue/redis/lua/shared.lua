-- Shared by every script of the Redis queue backend: key names, the clock,
-- the status counters, the ready sets and the transitions that several
-- operations need. Redis scripts cannot import one another, so mod.rs
-- prepends this file to each operation's file.
--
-- Every script gets the same eight KEYS (all under the queue's hash tag) and
-- the key prefix as ARGV[1]. Per-task keys (`task:<id>`, `dependents:<id>`)
-- and per-capability-set keys (`ready:<caps>`) are derived from that prefix
-- inside the script: they depend on data the caller cannot know in advance
-- (which task a claim pops, which dependents a completion frees). They carry
-- the same hash tag, so every key a script touches lives in one cluster slot.
-- Where a script works on one task the caller names, that task's key is also
-- passed as KEYS[9].

local K_STATS, K_CAPSETS, K_DELAYED, K_LEASED, K_DEAD, K_IDEM, K_WAKE, K_SEQ =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local PREFIX = ARGV[1]
-- Every task id of the queue, all scored 0 so that ZRANGEBYLEX walks them in
-- id order (the listing order of `Queue::list`). Derived from the prefix
-- like the per-task keys, rather than a ninth fixed KEY, so that the
-- scripts that never touch it keep their calling convention; it carries
-- the same hash tag. Kept by submit (add) and `forget_task` (remove), the
-- only code that creates or deletes task hashes.
local K_ALL = PREFIX .. 'all'
-- Completed, failed and cancelled task ids by when they finished, so
-- retention (purge_expired) reads the expired ones as one range. Every
-- transition into those statuses adds to it (dead letters have K_DEAD);
-- `forget_task` removes. Derived like K_ALL.
local K_FINISHED = PREFIX .. 'finished'

-- Ready sets are scored priority * 2^44 + submit sequence: lower priority
-- numbers first, submit order within a priority. 10 * 2^44 stays below 2^53,
-- so every score is an exact double.
local PRIORITY_WEIGHT = 17592186044416

-- At most this many wake-up markers wait in the marker list: enough to wake
-- a crowd of idle workers, small enough that stale markers cost little.
local WAKE_MARKERS = 16

-- Integers as text. Redis turns a Lua number argument into text with
-- "%.17g", a slow floating-point path; the hot paths format their integers
-- (all below 2^53, so exact) with "%d" instead.
local function int(x) return string.format('%d', x) end

-- Redis's clock, so that every process agrees on what "now" is.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function task_key(id) return PREFIX .. 'task:' .. id end
-- A task's history: a list of JSON entries, one per counted attempt, in
-- the shape of `AttemptRow` (the last is open, outcome 'running', while the
-- task is leased).
local function attempts_key(id) return PREFIX .. 'attempts:' .. id end
local function dependents_key(id) return PREFIX .. 'dependents:' .. id end
-- Every task that lists `id` among its dependencies, whatever its state,
-- for as long as it exists (`dependents:<id>` holds only the waiting ones,
-- until `id` finishes): retention keeps `id` while one of them may still
-- read its result.
local function needed_by_key(id) return PREFIX .. 'needed_by:' .. id end
local function ready_key(caps) return PREFIX .. 'ready:' .. caps end

local function is_leased(status)
  return status == 'assigned' or status == 'in_progress'
end

-- Opens the history entry of an attempt a claim started.
local function start_attempt(id, attempt, worker, now)
  redis.call('RPUSH', attempts_key(id), cjson.encode({
    attempt = tonumber(attempt), worker = worker, started_at = now, outcome = 'running'}))
end

-- Ends task `id`'s open attempt as `outcome` (with `error`, if any); a task
-- nobody runs has none, and nothing changes.
local function end_attempt(id, outcome, error, now)
  local key = attempts_key(id)
  local last = redis.call('LINDEX', key, -1)
  if not last then return end
  local entry = cjson.decode(last)
  if entry.outcome ~= 'running' then return end
  entry.outcome = outcome
  entry.finished_at = now
  entry.error = error
  redis.call('LSET', key, -1, cjson.encode(entry))
end

-- A released attempt does not count: its open entry goes.
local function drop_open_attempt(id)
  local key = attempts_key(id)
  local last = redis.call('LINDEX', key, -1)
  if last and cjson.decode(last).outcome == 'running' then redis.call('RPOP', key) end
end

-- Status counter changes, gathered during a script and written once by
-- `finish`: moves that cancel out (a completion and a claim both touch
-- `assigned`) cost nothing.
local count_deltas = {}

-- Moves `n` tasks (default 1) from one status counter to another; either
-- side may be nil (a task created or deleted).
local function count(from, to, n)
  n = n or 1
  if from then count_deltas[from] = (count_deltas[from] or 0) - n end
  if to then count_deltas[to] = (count_deltas[to] or 0) + n end
end

-- Writes the gathered counter changes; every script returns through it.
local function finish(reply)
  for status, n in pairs(count_deltas) do
    if n ~= 0 then redis.call('HINCRBY', K_STATS, status, int(n)) end
  end
  count_deltas = {}
  return reply
end

-- Lets up to `n` blocked workers know that tasks became ready.
local function wake(n)
  if n > 0 then
    local markers = {}
    for i = 1, math.min(n, WAKE_MARKERS) do markers[i] = '1' end
    redis.call('LPUSH', K_WAKE, unpack(markers))
    redis.call('LTRIM', K_WAKE, 0, WAKE_MARKERS - 1)
  end
end

-- Puts a pending task into the ready set of its capability set. The
-- caller records the set in K_CAPSETS.
local function enqueue(id, priority, seq, caps)
  redis.call('ZADD', ready_key(caps), int(priority * PRIORITY_WEIGHT + seq), id)
end

-- Puts a stored task whose status is already `pending` into its ready set.
local function enqueue_ready(id, key)
  local f = redis.call('HMGET', key, 'priority', 'seq', 'caps_key')
  local caps = f[3] or ''
  enqueue(id, tonumber(f[1]), tonumber(f[2]), caps)
  redis.call('SADD', K_CAPSETS, caps)
end

-- Forgets the lease of a task that is leaving the leased states. (The hot
-- path, `complete`, blanks the fields in its own HSET instead: an empty
-- field reads as absent.)
local function drop_lease(id, key)
  redis.call('HDEL', key, 'lease_token', 'lease_expires_at', 'deadline')
  redis.call('ZREM', K_LEASED, id)
end

-- The state a refused token is judged against; Rust words the refusal with
-- rules::check_token so every backend explains it the same way.
local function refusal(f, now)
  if not f[1] then return {'missing'} end
  return {'stale', f[1], f[2] or '', f[3] or '', now or ''}
end

-- A dependency ended badly: its waiting dependents fail, naming it, and
-- theirs fail naming them, transitively. `before`/`after` wrap the root's id
-- in its error; `FAILED_BEFORE`/`FAILED_AFTER` (set by the caller from ARGV)
-- wrap the ids further down. The loop ends because every failed task leaves
-- `waiting` and its dependents set is deleted.
local FAILED_BEFORE, FAILED_AFTER
local function fail_dependents(root, before, after, now)
  local todo = {{root, before, after}}
  local failed = 0
  while #todo > 0 do
    local item = table.remove(todo)
    local dk = dependents_key(item[1])
    local members = redis.call('SMEMBERS', dk)
    redis.call('DEL', dk)
    for _, dep in ipairs(members) do
      local key = task_key(dep)
      if redis.call('HGET', key, 'status') == 'waiting' then
        redis.call('HSET', key, 'status', 'failed', 'error', item[2] .. item[1] .. item[3],
          'finished_at', now, 'updated_at', now)
        redis.call('ZADD', K_FINISHED, now, dep)
        failed = failed + 1
        todo[#todo + 1] = {dep, FAILED_BEFORE, FAILED_AFTER}
      end
    end
  end
  count('waiting', 'failed', failed)
end

-- A dependency completed: dependents with nothing left to wait for become
-- pending (or delayed, if they were submitted with a later run_at).
local function release_dependents(id, now)
  local dk = dependents_key(id)
  local members = redis.call('SMEMBERS', dk)
  if #members == 0 then return end
  redis.call('DEL', dk)
  local ready = 0
  for _, dep in ipairs(members) do
    local key = task_key(dep)
    local f = redis.call('HMGET', key, 'status', 'run_at')
    if f[1] == 'waiting' and redis.call('HINCRBY', key, 'pending_deps', -1) <= 0 then
      local run_at = tonumber(f[2])
      if run_at and run_at > now then
        redis.call('HSET', key, 'status', 'delayed', 'updated_at', now)
        redis.call('ZADD', K_DELAYED, run_at, dep)
        count('waiting', 'delayed')
      else
        redis.call('HSET', key, 'status', 'pending', 'updated_at', now)
        enqueue_ready(dep, key)
        count('waiting', 'pending')
        ready = ready + 1
      end
    end
  end
  wake(ready)
end

-- Parks a task in the dead-letter store and fails its dependents; its
-- attempt ends as `outcome`.
local function dead_letter(id, key, from, error, now, dead_before, dead_after, outcome)
  end_attempt(id, outcome, error, now)
  redis.call('HSET', key, 'status', 'dead_lettered', 'error', error,
    'finished_at', now, 'updated_at', now)
  drop_lease(id, key)
  redis.call('ZADD', K_DEAD, now, id)
  count(from, 'dead_lettered')
  fail_dependents(id, dead_before, dead_after, now)
end

-- A failed attempt with attempts left waits out its backoff; the attempt
-- ends as `outcome`.
local function retry_later(id, key, from, error, run_at, now, outcome)
  end_attempt(id, outcome, error, now)
  redis.call('HSET', key, 'status', 'delayed', 'run_at', run_at, 'error', error, 'updated_at', now)
  drop_lease(id, key)
  redis.call('ZADD', K_DELAYED, run_at, id)
  count(from, 'delayed')
end

-- A lease ended without an answer (it ran out, or its worker was declared
-- dead) and attempts remain: the task is handed out again at once, with no
-- backoff, since its worker is gone and the task did not fail. The caller
-- wakes workers.
local function requeue(id, key, from, error, now)
  end_attempt(id, 'lease_expired', error, now)
  redis.call('HSET', key, 'status', 'pending', 'error', error, 'updated_at', now)
  drop_lease(id, key)
  enqueue_ready(id, key)
  count(from, 'pending')
end

-- Delayed tasks whose time has come become pending; at most `limit` per call
-- keeps a script short however large the backlog.
local function promote_due(now, limit)
  local due = redis.call('ZRANGEBYSCORE', K_DELAYED, '-inf', int(now), 'LIMIT', '0', int(limit))
  if #due == 0 then return 0 end
  local promoted = 0
  for _, id in ipairs(due) do
    local key = task_key(id)
    if redis.call('HGET', key, 'status') == 'delayed' then
      redis.call('HSET', key, 'status', 'pending', 'updated_at', now)
      enqueue_ready(id, key)
      promoted = promoted + 1
    end
  end
  redis.call('ZREM', K_DELAYED, unpack(due))
  count('delayed', 'pending', promoted)
  return promoted
end

-- Completes the attempt `token` of task `id`; nil when done, else a refusal.
-- Only tasks that some task depends on (`has_dependents`, set at submit)
-- look for dependents to free.
local function complete(id, key, token, result, now)
  local f = redis.call('HMGET', key, 'status', 'lease_token', 'deadline', 'has_dependents')
  if not is_leased(f[1]) or f[2] ~= token then return refusal(f) end
  local at = int(now)
  redis.call('HSET', key, 'status', 'completed', 'result', result, 'error', '',
    'finished_at', at, 'updated_at', at,
    'lease_token', '', 'lease_expires_at', '', 'deadline', '')
  redis.call('ZREM', K_LEASED, id)
  redis.call('ZADD', K_FINISHED, at, id)
  count(f[1], 'completed')
  end_attempt(id, 'completed', nil, now)
  if f[4] then release_dependents(id, now) end
  return nil
end

-- The ready sets a worker with these capabilities may take from: those
-- whose capability set is a subset of the worker's.
local function eligible_sets(caps, ncaps)
  if ncaps == 0 then return {''} end
  local have = {}
  for i = 1, ncaps do have[caps[i]] = true end
  local sets = {}
  for _, set in ipairs(redis.call('SMEMBERS', K_CAPSETS)) do
    local ok = true
    for cap in string.gmatch(set, '[^,]+') do
      if not have[cap] then ok = false break end
    end
    if ok then sets[#sets + 1] = set end
  end
  return sets
end

-- Takes the `max` best ready ids of the types in `types` (a set; nil for
-- any type) across `sets` out of their ready sets. Ready sets are not kept
-- per type, so a typed claim walks each set in order, a page at a time,
-- past the tasks of other types (which stay where they are).
local function take_best_typed(sets, max, types)
  local heads = {}
  for _, set in ipairs(sets) do
    local key = ready_key(set)
    local found, from = 0, 0
    while found < max do
      local r = redis.call('ZRANGE', key, from, from + 99, 'WITHSCORES')
      if #r == 0 then break end
      for i = 1, #r, 2 do
        if found < max and types[redis.call('HGET', task_key(r[i]), 'task_type') or ''] then
          heads[#heads + 1] = {r[i], tonumber(r[i + 1]), key}
          found = found + 1
        end
      end
      from = from + 100
    end
  end
  table.sort(heads, function(a, b) return a[2] < b[2] end)
  local ids = {}
  for i = 1, math.min(max, #heads) do
    redis.call('ZREM', heads[i][3], heads[i][1])
    ids[#ids + 1] = heads[i][1]
  end
  return ids
end

-- Takes the `max` best ready ids across `sets` out of their ready sets.
local function take_best(sets, max, types)
  if types then return take_best_typed(sets, max, types) end
  local ids = {}
  if #sets == 1 then
    -- The common case, one command: ZPOPMIN answers member, score, ...
    local popped = redis.call('ZPOPMIN', ready_key(sets[1]), int(max))
    for i = 1, #popped, 2 do ids[#ids + 1] = popped[i] end
    return ids
  end
  local heads = {}
  for _, set in ipairs(sets) do
    local key = ready_key(set)
    local r = redis.call('ZRANGE', key, 0, max - 1, 'WITHSCORES')
    for i = 1, #r, 2 do heads[#heads + 1] = {r[i], tonumber(r[i + 1]), key} end
  end
  table.sort(heads, function(a, b) return a[2] < b[2] end)
  for i = 1, math.min(max, #heads) do
    redis.call('ZREM', heads[i][3], heads[i][1])
    ids[#ids + 1] = heads[i][1]
  end
  return ids
end

-- Leases up to `max` ready tasks (of the types in `types`, or any when
-- nil); answers the leased tasks' hashes. All the tasks of one claim share
-- its token: (task id, token) names each attempt. An earlier attempt's
-- error no longer explains the task's state, so it is blanked.
local function claim(token, worker, lease_ms, max, caps, ncaps, types, now)
  if max <= 0 then return {} end
  wake(promote_due(now, 1000))
  local leased = {}
  local sets = eligible_sets(caps, ncaps)
  if #sets == 0 then return leased end
  for _, id in ipairs(take_best(sets, max, types)) do
    local key = task_key(id)
    -- Read the whole task once: it is both the answer and the input.
    local h = redis.call('HGETALL', key)
    local status, timeout, attempts
    for i = 1, #h, 2 do
      local field = h[i]
      if field == 'status' then status = h[i + 1]
      elseif field == 'timeout_ms' then timeout = h[i + 1]
      elseif field == 'attempts' then attempts = h[i + 1] end
    end
    -- Only pending tasks sit in ready sets; anything else is a stale entry
    -- that popping it has already cleaned up.
    if status == 'pending' then
      local deadline = now + tonumber(timeout)
      local expires = math.min(now + lease_ms, deadline)
      local changed = {
        status = 'assigned', attempts = int(tonumber(attempts or '0') + 1),
        lease_token = token, worker = worker, started_at = int(now),
        deadline = int(deadline), lease_ms = int(lease_ms),
        lease_expires_at = int(expires), updated_at = int(now), error = '',
      }
      redis.call('HSET', key, 'status', changed.status, 'attempts', changed.attempts,
        'lease_token', token, 'worker', worker, 'started_at', changed.started_at,
        'deadline', changed.deadline, 'lease_ms', changed.lease_ms,
        'lease_expires_at', changed.lease_expires_at, 'updated_at', changed.updated_at,
        'error', '')
      redis.call('ZADD', K_LEASED, changed.lease_expires_at, id)
      start_attempt(id, changed.attempts, worker, now)
      -- Patch the answer rather than read the hash again.
      for i = 1, #h, 2 do
        local value = changed[h[i]]
        if value then
          h[i + 1] = value
          changed[h[i]] = nil
        end
      end
      for field, value in pairs(changed) do
        h[#h + 1] = field
        h[#h + 1] = value
      end
      leased[#leased + 1] = h
    end
  end
  count('pending', 'assigned', #leased)
  return leased
end

-- Reads the claim arguments that start at ARGV[i]: token, worker, lease_ms,
-- max, the number of capabilities, the capabilities, the number of task
-- types, the types. The types come back as a set, or nil for none (any).
local function claim_args(i)
  local ncaps = tonumber(ARGV[i + 4])
  local caps = {}
  for j = 1, ncaps do caps[j] = ARGV[i + 4 + j] end
  local t = i + 5 + ncaps
  local ntypes = tonumber(ARGV[t]) or 0
  local types = nil
  if ntypes > 0 then
    types = {}
    for j = 1, ntypes do types[ARGV[t + j]] = true end
  end
  return ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]), caps, ncaps, types
end

-- True while a task that depends on `id` is in any status but completed,
-- failed or cancelled (a dead letter may be retried): retention keeps `id`
-- for it (rules::PurgeCutoffs).
local function still_needed(id)
  for _, dependent in ipairs(redis.call('SMEMBERS', needed_by_key(id))) do
    local status = redis.call('HGET', task_key(dependent), 'status')
    if status and status ~= 'completed' and status ~= 'failed' and status ~= 'cancelled' then
      return true
    end
  end
  return false
end

-- Deletes task `id` (stored at `key`, status `status`) and every trace of
-- it: its history, its idempotency key (which may then be used again), its
-- entries in the queue's indexes, its sets, and its membership of its
-- dependencies' sets. Other tasks are not touched.
local function forget_task(id, key, status)
  local f = redis.call('HMGET', key, 'idempotency_key', 'dependencies')
  redis.call('DEL', key, attempts_key(id), dependents_key(id), needed_by_key(id))
  if f[1] and redis.call('HGET', K_IDEM, f[1]) == id then redis.call('HDEL', K_IDEM, f[1]) end
  if f[2] then
    for dep in string.gmatch(f[2], '[%x%-]+') do
      redis.call('SREM', needed_by_key(dep), id)
      redis.call('SREM', dependents_key(dep), id)
    end
  end
  redis.call('ZREM', K_ALL, id)
  redis.call('ZREM', K_FINISHED, id)
  redis.call('ZREM', K_DEAD, id)
  count(status, nil)
end
