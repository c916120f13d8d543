-- Leases ran out with attempts left: hand tasks $2 out again, each keeping
-- the matching error of $3. Wakes workers.
WITH requeued AS (
    UPDATE hive_tasks AS t
    SET status = 'pending', error = r.error, updated_at = hive_now_ms(),
        lease_token = NULL, lease_expires_at = NULL, deadline = NULL
    FROM unnest($2::uuid[], $3::text[]) AS r(id, error)
    WHERE t.id = r.id AND t.queue = $1
    RETURNING 1
)
SELECT hive_wake($1, count(*)) FROM requeued
