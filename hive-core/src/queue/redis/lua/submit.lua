-- submit: stores a batch of tasks, all or nothing. The batch comes in
-- dependency order (prepare.rs), so a task's in-batch dependencies are
-- always planned before it. Phase one decides everything and writes
-- nothing, so a refusal leaves no trace; phase two writes.
-- ARGV: prefix, six dependency-error parts, the number of tasks, then per
-- task 13 fields: id, type, payload, priority, capabilities (JSON), the
-- capability-set key, max_attempts, timeout_ms, idempotency key ('' for
-- none), run_at kind ('' | 'at' | 'after'), run_at ms, dependency ids
-- joined by ',', traceparent ('' for none).
-- Answers {id, status, deduplicated (0/1)} per task in batch order, or
-- {'conflict', id} / {'unknown', task id, dependency id}.
local FIELDS = 13
local now = now_ms()
local n = tonumber(ARGV[8])

-- The error a dependent starts with when a dependency already ended badly.
local bad_end = {
  dead_lettered = {ARGV[2], ARGV[3]},
  failed = {ARGV[4], ARGV[5]},
  cancelled = {ARGV[6], ARGV[7]},
}

local renamed = {} -- a deduplicated task's id -> the earlier task's id
local planned = {} -- id -> status, for the new tasks of this batch
local plans = {}
local fresh = 0

-- Phase one: decide.
for t = 0, n - 1 do
  local a = 8 + t * FIELDS
  local id, idem = ARGV[a + 1], ARGV[a + 9]
  local earlier = idem ~= '' and redis.call('HGET', K_IDEM, idem)
  local earlier_status = earlier and redis.call('HGET', task_key(earlier), 'status')
  if earlier_status then
    renamed[id] = earlier
    plans[#plans + 1] = {answer = {earlier, earlier_status, 1}}
  else
    if redis.call('EXISTS', task_key(id)) == 1 then return {'conflict', id} end
    -- Dependencies, with deduplicated ids pointing at the earlier task.
    local deps, seen, unfinished, bad = {}, {}, {}, nil
    for dep in string.gmatch(ARGV[a + 12], '[^,]+') do
      dep = renamed[dep] or dep
      if not seen[dep] then
        seen[dep] = true
        deps[#deps + 1] = dep
        local status = planned[dep] or redis.call('HGET', task_key(dep), 'status')
        if not status then return {'unknown', id, dep} end
        if bad_end[status] then
          bad = bad or {dep, status}
        elseif status ~= 'completed' then
          unfinished[#unfinished + 1] = dep
        end
      end
    end
    local run_at = nil
    local kind, at = ARGV[a + 10], tonumber(ARGV[a + 11])
    if kind == 'at' then run_at = at elseif kind == 'after' then run_at = now + at end
    if run_at and run_at <= now then run_at = nil end
    -- rules::initial_status.
    local status
    if bad then status = 'failed'
    elseif #unfinished > 0 then status = 'waiting'
    elseif run_at then status = 'delayed'
    else status = 'pending' end
    planned[id] = status
    fresh = fresh + 1
    plans[#plans + 1] = {a = a, id = id, status = status, deps = deps,
      unfinished = unfinished, bad = bad, run_at = run_at,
      answer = {id, status, 0}}
  end
end

-- Phase two: write.
local function add(fields, field, value)
  fields[#fields + 1] = field
  fields[#fields + 1] = value
end
local seq = redis.call('INCRBY', K_SEQ, fresh) - fresh
local now_text = int(now)
local counts = {}
local capsets = {} -- capability sets that received a task, recorded once
local ready = 0
for _, p in ipairs(plans) do
  if p.id then
    local a = p.a
    seq = seq + 1
    -- Fields at their default (no capabilities, no dependencies, nothing
    -- to wait for, no attempt yet) are left out: an absent field reads as
    -- its default (row.rs), and every claim reads the task back, so a
    -- smaller hash is a cheaper claim.
    local fields = {
      'id', p.id, 'task_type', ARGV[a + 2], 'payload', ARGV[a + 3], 'status', p.status,
      'priority', ARGV[a + 4], 'max_attempts', ARGV[a + 7], 'timeout_ms', ARGV[a + 8],
      'seq', int(seq), 'created_at', now_text, 'updated_at', now_text,
    }
    if ARGV[a + 6] ~= '' then
      add(fields, 'capabilities', ARGV[a + 5])
      add(fields, 'caps_key', ARGV[a + 6])
    end
    if #p.deps > 0 then add(fields, 'dependencies', '["' .. table.concat(p.deps, '","') .. '"]') end
    if #p.unfinished > 0 then add(fields, 'pending_deps', int(#p.unfinished)) end
    local idem = ARGV[a + 9]
    if idem ~= '' then
      add(fields, 'idempotency_key', idem)
      redis.call('HSET', K_IDEM, idem, p.id)
    end
    if p.run_at then add(fields, 'run_at', int(p.run_at)) end
    if ARGV[a + 13] ~= '' then add(fields, 'traceparent', ARGV[a + 13]) end
    if p.bad then
      local parts = bad_end[p.bad[2]]
      add(fields, 'error', parts[1] .. p.bad[1] .. parts[2])
      add(fields, 'finished_at', now_text)
      redis.call('ZADD', K_FINISHED, now_text, p.id)
    end
    local key = task_key(p.id)
    redis.call('HSET', key, unpack(fields))
    redis.call('ZADD', K_ALL, 0, p.id)
    for _, dep in ipairs(p.deps) do redis.call('SADD', needed_by_key(dep), p.id) end
    if p.status == 'pending' then
      local caps = ARGV[a + 6]
      enqueue(p.id, tonumber(ARGV[a + 4]), seq, caps)
      capsets[caps] = true
      ready = ready + 1
    elseif p.status == 'delayed' then
      redis.call('ZADD', K_DELAYED, p.run_at, p.id)
    elseif p.status == 'waiting' then
      for _, dep in ipairs(p.unfinished) do
        redis.call('SADD', dependents_key(dep), p.id)
        redis.call('HSET', task_key(dep), 'has_dependents', 1)
      end
    end
    counts[p.status] = (counts[p.status] or 0) + 1
  end
end
for caps in pairs(capsets) do redis.call('SADD', K_CAPSETS, caps) end
for status, c in pairs(counts) do count(nil, status, c) end
wake(ready)

local answers = {}
for i, p in ipairs(plans) do answers[i] = p.answer end
return finish(answers)
