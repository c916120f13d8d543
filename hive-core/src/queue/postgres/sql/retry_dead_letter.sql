-- Move a dead letter back to pending with a fresh attempt budget (the error
-- that dead-lettered it stays in the history only); answers the task, or
-- nothing when it is not dead-lettered.
WITH retried AS (
    UPDATE hive_tasks
    SET status = 'pending', attempts = 0, finished_at = NULL, run_at = NULL, error = NULL,
        updated_at = hive_now_ms()
    WHERE id = $2 AND queue = $1 AND status = 'dead_lettered'
    RETURNING *
), woken AS (
    SELECT hive_wake($1, count(*)) FROM retried
)
SELECT seq, id::text AS id, task_type, payload, status, priority::int8 AS priority,
    array_to_json(capabilities)::text AS capabilities,
    array_to_json(dependencies)::text AS dependencies, attempts, max_attempts, timeout_ms,
    idempotency_key, traceparent, created_at, updated_at, run_at, started_at, finished_at, lease_expires_at,
    deadline, lease_token::text AS lease_token, worker, result, error
FROM retried, woken
