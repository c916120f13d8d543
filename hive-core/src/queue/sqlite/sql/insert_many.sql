-- Insert a batch of independent tasks (no dependencies, no idempotency key)
-- in one statement; ?1 is the queue, ?2 the created time, ?3 a JSON array
-- of the tasks' fields.
INSERT INTO hive_tasks (id, queue, task_type, payload, status, priority, capabilities,
    dependencies, pending_deps, max_attempts, timeout_ms, created_at, updated_at, run_at,
    traceparent)
SELECT json_extract(value, '$.id'), ?1, json_extract(value, '$.type'),
       json_extract(value, '$.payload'), json_extract(value, '$.status'),
       json_extract(value, '$.priority'), json_extract(value, '$.caps'), '[]', 0,
       json_extract(value, '$.max_attempts'), json_extract(value, '$.timeout_ms'), ?2, ?2,
       json_extract(value, '$.run_at'), json_extract(value, '$.traceparent')
FROM json_each(?3)
