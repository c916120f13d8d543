-- Insert a batch of tasks of queue $1 in one statement: the parallel arrays
-- $2..$16 hold one element per task, in the order they must get their `seq`.
-- Capabilities and dependencies come as comma-joined lists (neither a
-- capability nor a UUID contains a comma), because Postgres arrays must be
-- rectangular. Wakes the queue's workers when any task is ready.
WITH inserted AS (
    INSERT INTO hive_tasks (id, queue, task_type, payload, status, priority, capabilities,
        dependencies, pending_deps, max_attempts, timeout_ms, idempotency_key, created_at,
        updated_at, run_at, error, finished_at, has_dependents, traceparent)
    SELECT t.id, $1, t.task_type, t.payload, t.status, t.priority,
        string_to_array(t.capabilities, ','), string_to_array(t.dependencies, ',')::uuid[],
        t.pending_deps, t.max_attempts, t.timeout_ms, t.idempotency_key, hive_now_ms(),
        hive_now_ms(), t.run_at, t.error,
        CASE WHEN t.error IS NULL THEN NULL ELSE hive_now_ms() END, t.has_dependents,
        t.traceparent
    FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::int2[], $7::text[],
            $8::text[], $9::int4[], $10::int8[], $11::int8[], $12::text[], $13::int8[],
            $14::text[], $15::bool[], $16::text[])
        WITH ORDINALITY AS t(id, task_type, payload, status, priority, capabilities,
            dependencies, pending_deps, max_attempts, timeout_ms, idempotency_key, run_at,
            error, has_dependents, traceparent, position)
    ORDER BY t.position
    RETURNING status
)
SELECT hive_wake($1, count(*) FILTER (WHERE status = 'pending')) FROM inserted
