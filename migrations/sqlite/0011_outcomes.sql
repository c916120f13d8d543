-- Outcomes (`outcome::OutcomeStore`): one row per finished task, kept after
-- the task itself is purged; metrics, experiments and budgets read them.
CREATE TABLE IF NOT EXISTS hive_outcomes (
    task_id        TEXT PRIMARY KEY NOT NULL,
    queue          TEXT NOT NULL,
    task_type      TEXT NOT NULL,
    agent          TEXT,
    prompt_version TEXT,
    experiment     TEXT,
    arm            TEXT,
    status         TEXT NOT NULL,
    attempts       INTEGER NOT NULL,
    wait_ms        INTEGER NOT NULL,
    run_ms         INTEGER NOT NULL,
    input_tokens   INTEGER NOT NULL,
    output_tokens  INTEGER NOT NULL,
    cost_usd       REAL,
    score          REAL,
    finished_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS hive_outcomes_finished ON hive_outcomes (finished_at);
CREATE INDEX IF NOT EXISTS hive_outcomes_experiment ON hive_outcomes (experiment, arm)
    WHERE experiment IS NOT NULL;
