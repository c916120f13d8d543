-- Which of the ids in the JSON array ?1 already exist (to name a conflict).
SELECT id FROM hive_tasks WHERE id IN (SELECT value FROM json_each(?1)) LIMIT 1
