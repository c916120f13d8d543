-- Cancel a task this transaction has locked and found not final.
UPDATE hive_tasks
SET status = 'cancelled', finished_at = hive_now_ms(), updated_at = hive_now_ms(),
    lease_token = NULL, lease_expires_at = NULL, deadline = NULL
WHERE id = $2 AND queue = $1
RETURNING seq, id::text AS id, task_type, payload, status, priority::int8 AS priority,
    array_to_json(capabilities)::text AS capabilities,
    array_to_json(dependencies)::text AS dependencies, attempts, max_attempts, timeout_ms,
    idempotency_key, traceparent, created_at, updated_at, run_at, started_at, finished_at, lease_expires_at,
    deadline, lease_token::text AS lease_token, worker, result, error
