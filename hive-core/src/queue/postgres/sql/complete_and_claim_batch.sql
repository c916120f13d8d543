-- Completes and claims for many callers at once, in one statement: one
-- round trip and one commit (one fsync) for a whole batch of workers.
--
-- Each caller is one element of the parallel arrays $2..$7 (its position is
-- its request number `req`): a completion (task $2, token $3, result $4; all
-- NULL for none) and a claim of up to $6 tasks (0 for none) for worker $5
-- with a lease of $7 ms. All claims of a batch share the capabilities $8
-- and the task types $9 (empty: any type).
-- A completion only succeeds for the current attempt of a task nobody waits
-- on (`NOT has_dependents`); the caller settles any other case under a lock.
-- A caller whose completion was refused leases nothing.
--
-- Each attempt's history row is opened (claims) or finished (completions)
-- by the same statement.
--
-- Answers one row per leased task, or one row of NULLs for a request that
-- leased none, each with `req` and `completed`.
WITH requests AS (
    SELECT r.*, $1::text AS queue
    FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::int4[], $7::int8[])
        WITH ORDINALITY AS r(task_id, token, result, worker, wanted, lease_ms, req)
), done AS (
    UPDATE hive_tasks AS t
    SET status = 'completed', result = r.result, error = NULL, finished_at = hive_now_ms(),
        updated_at = hive_now_ms(), lease_token = NULL, lease_expires_at = NULL,
        deadline = NULL
    FROM requests AS r
    -- Every condition is a join condition, so the only index that can serve
    -- them is the primary key, one lookup per request: a constant condition
    -- on queue or status would let the planner (when statistics are missing,
    -- as in a new database) scan the queue's tasks instead. A token is set
    -- exactly while its task is leased, so matching it checks status too.
    WHERE t.id = r.task_id AND t.lease_token = r.token AND t.queue = r.queue
      AND NOT t.has_dependents
    RETURNING t.id
), done_attempts AS (
    UPDATE hive_task_attempts AS a
    SET finished_at = hive_now_ms(), outcome = 'completed'
    FROM done WHERE a.task_id = done.id AND a.finished_at IS NULL
), slots AS (
    -- One slot per task a caller may lease, numbered in request order.
    SELECT row_number() OVER (ORDER BY r.req, n) AS slot, r.req, r.worker, r.lease_ms
    FROM requests AS r, generate_series(1, r.wanted) AS n
    WHERE r.task_id IS NULL OR r.task_id IN (SELECT id FROM done)
), due AS (
    -- Delayed tasks whose time has come compete with the ready ones; those
    -- not handed out are promoted to pending below.
    SELECT id, priority, seq, capabilities, task_type FROM hive_tasks
    WHERE queue = $1 AND status = 'delayed' AND run_at <= hive_now_ms()
      AND EXISTS (SELECT 1 FROM slots)
    ORDER BY run_at
    LIMIT 1000
    FOR UPDATE SKIP LOCKED
), ready AS (
    -- Ready tasks the workers can take, most urgent first, FIFO within a
    -- priority. `SKIP LOCKED`: rows another claimer holds are skipped, not
    -- waited for, so concurrent claimers never block or share a task.
    SELECT id, priority, seq FROM hive_tasks
    WHERE queue = $1 AND status = 'pending' AND capabilities <@ $8::text[]
      AND (cardinality($9::text[]) = 0 OR task_type = ANY($9::text[]))
    ORDER BY priority, seq
    LIMIT (SELECT count(*) FROM slots)
    FOR UPDATE SKIP LOCKED
), picked AS (
    SELECT id, row_number() OVER (ORDER BY priority, seq) AS slot
    FROM (
        SELECT id, priority, seq FROM ready
        UNION ALL
        SELECT id, priority, seq FROM due WHERE capabilities <@ $8::text[]
          AND (cardinality($9::text[]) = 0 OR task_type = ANY($9::text[]))
    ) AS candidates
    ORDER BY priority, seq
    LIMIT (SELECT count(*) FROM slots)
), promoted AS (
    UPDATE hive_tasks AS t SET status = 'pending', updated_at = hive_now_ms()
    FROM due WHERE t.id = due.id AND t.id NOT IN (SELECT id FROM picked)
), claimed AS (
    -- Each attempt gets its own random token.
    UPDATE hive_tasks AS t
    SET status = 'assigned',
        attempts = t.attempts + 1,
        lease_token = gen_random_uuid(),
        worker = s.worker,
        started_at = hive_now_ms(),
        deadline = hive_now_ms() + t.timeout_ms,
        lease_ms = s.lease_ms,
        lease_expires_at = LEAST(hive_now_ms() + s.lease_ms, hive_now_ms() + t.timeout_ms),
        updated_at = hive_now_ms(),
        -- An earlier attempt's error no longer explains the task's state.
        error = NULL
    FROM picked AS p JOIN slots AS s ON s.slot = p.slot
    WHERE t.id = p.id
    RETURNING t.*, s.req
), started AS (
    INSERT INTO hive_task_attempts (task_id, attempt, worker, started_at, outcome)
    SELECT id, attempts, worker, started_at, 'running' FROM claimed
)
SELECT r.req, r.task_id IN (SELECT id FROM done) AS completed,
    c.seq, c.id::text AS id, c.task_type, c.payload, c.status, c.priority::int8 AS priority,
    array_to_json(c.capabilities)::text AS capabilities,
    array_to_json(c.dependencies)::text AS dependencies, c.attempts, c.max_attempts,
    c.timeout_ms, c.idempotency_key, c.traceparent, c.created_at, c.updated_at, c.run_at, c.started_at,
    c.finished_at, c.lease_expires_at, c.deadline, c.lease_token::text AS lease_token,
    c.worker, c.result, c.error
FROM requests AS r LEFT JOIN claimed AS c ON c.req = r.req
ORDER BY r.req, c.priority, c.seq
