-- Outcomes (`outcome::OutcomeStore`): one row per finished task, kept after
-- the task itself is purged; metrics, experiments and budgets read them.
CREATE TABLE IF NOT EXISTS hive_outcomes (
    task_id        TEXT PRIMARY KEY,
    queue          TEXT NOT NULL,
    task_type      TEXT NOT NULL,
    agent          TEXT,
    prompt_version TEXT,
    experiment     TEXT,
    arm            TEXT,
    status         TEXT NOT NULL,
    attempts       BIGINT NOT NULL,
    wait_ms        BIGINT NOT NULL,
    run_ms         BIGINT NOT NULL,
    input_tokens   BIGINT NOT NULL,
    output_tokens  BIGINT NOT NULL,
    cost_usd       DOUBLE PRECISION,
    score          DOUBLE PRECISION,
    finished_at    BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS hive_outcomes_finished ON hive_outcomes (finished_at);
CREATE INDEX IF NOT EXISTS hive_outcomes_experiment ON hive_outcomes (experiment, arm)
    WHERE experiment IS NOT NULL;
