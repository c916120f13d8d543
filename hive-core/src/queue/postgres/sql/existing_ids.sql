-- Which of the ids $1 already exist (in any queue: ids are global), to name
-- the culprit of a rejected submit.
SELECT id FROM hive_tasks WHERE id = ANY($1::uuid[]) LIMIT 1
