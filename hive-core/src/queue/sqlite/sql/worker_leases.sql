-- Every lease worker ?2 holds, in the shape of expired_leases.sql: ending
-- them settles them the same way.
SELECT id, attempts, max_attempts, worker FROM hive_tasks
WHERE queue = ?1 AND status IN ('assigned', 'in_progress') AND worker = ?2
