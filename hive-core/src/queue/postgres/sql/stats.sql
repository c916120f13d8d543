-- How many tasks of the queue are in each status. One branch per partial
-- index, so each count reads only its index (see the migration).
SELECT 'pending', count(*) FROM hive_tasks WHERE queue = $1 AND status = 'pending'
UNION ALL
SELECT 'delayed', count(*) FROM hive_tasks WHERE queue = $1 AND status = 'delayed'
UNION ALL
SELECT 'dead_lettered', count(*) FROM hive_tasks WHERE queue = $1 AND status = 'dead_lettered'
UNION ALL
(SELECT status, count(*) FROM hive_tasks
 WHERE queue = $1 AND status IN ('assigned', 'in_progress')
 GROUP BY status)
UNION ALL
(SELECT status, count(*) FROM hive_tasks
 WHERE queue = $1 AND status IN ('waiting', 'completed', 'failed', 'cancelled')
 GROUP BY status)
