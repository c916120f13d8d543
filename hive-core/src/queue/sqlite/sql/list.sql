-- The fixed part of `Queue::list`; listing.rs appends the WHERE clause
-- (queue and the filter's conditions, all bound) and the order and limit.
SELECT id, task_type, payload, status, priority, capabilities, dependencies, attempts,
    max_attempts, timeout_ms, idempotency_key, traceparent, created_at, updated_at, run_at, started_at,
    finished_at, lease_expires_at, deadline, lease_token, worker, result, error
FROM hive_tasks
