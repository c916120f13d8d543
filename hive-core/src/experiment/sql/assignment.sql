-- The arm task $2 is assigned to in experiment $1.
SELECT arm FROM hive_experiment_assignments WHERE experiment = $1 AND task_id = $2
