-- Every counted attempt of a task (`Queue::attempts`): a row is inserted
-- by the statement that claims (outcome 'running', no end) and finished by
-- the statement or transaction that ends the attempt. A released attempt
-- does not count: its row is deleted. Rows go with their task when it is
-- purged. `seq` orders a task's attempts.
CREATE TABLE IF NOT EXISTS hive_task_attempts (
    task_id     UUID   NOT NULL,
    seq         BIGINT GENERATED ALWAYS AS IDENTITY,
    attempt     BIGINT NOT NULL,
    worker      TEXT   NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    outcome     TEXT   NOT NULL,
    error       TEXT,
    CONSTRAINT hive_task_attempts_pkey PRIMARY KEY (task_id, seq)
);
