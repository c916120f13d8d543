-- Assigns task $2 to arm $3 of experiment $1 at $4, unless it already is.
INSERT INTO hive_experiment_assignments (experiment, task_id, arm, assigned_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (experiment, task_id) DO NOTHING
