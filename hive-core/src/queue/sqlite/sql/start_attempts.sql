-- Open one history row per task a claim leased: ?1 is a JSON array of
-- {"id", "n" (the attempt's number)}, all for worker ?2 at ?3.
INSERT INTO hive_task_attempts (task_id, attempt, worker, started_at, outcome)
SELECT json_extract(j.value, '$.id'), json_extract(j.value, '$.n'), ?2, ?3, 'running'
FROM json_each(?1) AS j
