-- Task $2[i] lists task $1[i] among its dependencies (see hive_task_needs).
INSERT INTO hive_task_needs (depends_on, task_id)
SELECT * FROM unnest($1::uuid[], $2::uuid[])
ON CONFLICT DO NOTHING
