-- Delayed tasks whose time has come become pending; answers how many, and
-- wakes workers when there were any. Rows a claimer holds are left to it.
WITH due AS (
    SELECT id FROM hive_tasks
    WHERE queue = $1 AND status = 'delayed' AND run_at <= hive_now_ms()
    FOR UPDATE SKIP LOCKED
), promoted AS (
    UPDATE hive_tasks AS t SET status = 'pending', updated_at = hive_now_ms()
    FROM due WHERE t.id = due.id
    RETURNING 1
)
SELECT hive_wake($1, count(*)) FROM promoted
