-- Every lease worker $2 holds, in the shape of expired_leases.sql so they
-- end the same way, locked. Unlike the reaper this waits for rows another
-- transaction holds (a completion in flight finishes first, and its task
-- then drops out of the result): it must end every lease, not most.
-- Locked in id order, so two calls cannot deadlock with each other.
SELECT id, attempts, max_attempts, worker, has_dependents, hive_now_ms() AS now
FROM hive_tasks
WHERE queue = $1 AND status IN ('assigned', 'in_progress') AND worker = $2
ORDER BY id
FOR NO KEY UPDATE
