-- Leases ran out with attempts left: hand tasks $2 out again, each keeping
-- the matching error of $3, which also ends each one's attempt in the
-- history as `lease_expired`. Wakes workers.
WITH requeued AS (
    UPDATE hive_tasks AS t
    SET status = 'pending', error = r.error, updated_at = hive_now_ms(),
        lease_token = NULL, lease_expires_at = NULL, deadline = NULL
    FROM unnest($2::uuid[], $3::text[]) AS r(id, error)
    WHERE t.id = r.id AND t.queue = $1
    RETURNING t.id, r.error
), ended AS (
    UPDATE hive_task_attempts AS a
    SET finished_at = hive_now_ms(), outcome = 'lease_expired', error = q.error
    FROM requeued AS q WHERE a.task_id = q.id AND a.finished_at IS NULL
)
SELECT hive_wake($1, count(*)) FROM requeued
