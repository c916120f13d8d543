INSERT INTO hive_tasks (id, queue, task_type, payload, status, priority, capabilities,
    dependencies, pending_deps, max_attempts, timeout_ms, idempotency_key, created_at,
    updated_at, run_at, error, finished_at, traceparent)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14, ?15, ?16, ?17)
