-- Experiments (`experiment::ExperimentStore`): each experiment as a JSON
-- body with its status and a revision for compare-and-set saves, and the
-- sticky assignment of every task to an arm.
CREATE TABLE IF NOT EXISTS hive_experiments (
    id         TEXT PRIMARY KEY,
    agent      TEXT NOT NULL,
    label      TEXT NOT NULL,
    status     TEXT NOT NULL,
    body       TEXT NOT NULL,
    revision   BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS hive_experiments_active ON hive_experiments (agent, label)
    WHERE status <> 'finished';
CREATE TABLE IF NOT EXISTS hive_experiment_assignments (
    experiment  TEXT NOT NULL,
    task_id     TEXT NOT NULL,
    arm         TEXT NOT NULL,
    assigned_at BIGINT NOT NULL,
    PRIMARY KEY (experiment, task_id)
);
