-- Delete dead letters: those in the JSON array ?2, or all when ?2 is NULL.
DELETE FROM hive_tasks
WHERE queue = ?1 AND status = 'dead_lettered'
  AND (?2 IS NULL OR id IN (SELECT value FROM json_each(?2)))
RETURNING id
