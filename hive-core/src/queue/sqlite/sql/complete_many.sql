-- Finish many attempts in one statement: ?3 is a JSON array of
-- {"id", "t" (token), "r" (result JSON text)}. Returns the tasks that were
-- completed; an entry whose token is not current is not returned.
UPDATE hive_tasks
SET status = 'completed',
    result = json_extract(j.value, '$.r'),
    error = NULL,
    finished_at = ?2,
    updated_at = ?2,
    lease_token = NULL,
    lease_expires_at = NULL,
    deadline = NULL
FROM json_each(?3) AS j
-- The unary + keeps SQLite from driving the join by the (queue, status)
-- indexes, which walks every leased task once per entry; the id lookup
-- per entry is what we want.
WHERE +hive_tasks.queue = ?1
  AND hive_tasks.id = json_extract(j.value, '$.id')
  AND hive_tasks.lease_token = json_extract(j.value, '$.t')
  AND +hive_tasks.status IN ('assigned', 'in_progress')
RETURNING hive_tasks.id, hive_tasks.has_dependents
