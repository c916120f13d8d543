-- A page of the dead-letter store, newest first.
SELECT seq, id::text AS id, task_type, payload, status, priority::int8 AS priority,
    array_to_json(capabilities)::text AS capabilities,
    array_to_json(dependencies)::text AS dependencies, attempts, max_attempts, timeout_ms,
    idempotency_key, traceparent, created_at, updated_at, run_at, started_at, finished_at, lease_expires_at,
    deadline, lease_token::text AS lease_token, worker, result, error
FROM hive_tasks WHERE queue = $1 AND status = 'dead_lettered'
ORDER BY updated_at DESC, seq DESC LIMIT $2 OFFSET $3
