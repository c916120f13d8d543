-- Record that task $2[i] waits for task $1[i].
INSERT INTO hive_task_deps (depends_on, task_id)
SELECT * FROM unnest($1::uuid[], $2::uuid[])
ON CONFLICT DO NOTHING
