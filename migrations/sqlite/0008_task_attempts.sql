-- Every counted attempt of a task (`Queue::attempts`): a row is inserted
-- when a claim starts an attempt (outcome 'running', no end) and finished by
-- the transition that ends it, in the same transaction. A released attempt
-- does not count: its row is deleted. Rows go with their task when it is
-- purged. `seq` orders a task's attempts.
CREATE TABLE IF NOT EXISTS hive_task_attempts (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id     TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    worker      TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    outcome     TEXT    NOT NULL,
    error       TEXT
);
CREATE INDEX IF NOT EXISTS hive_task_attempts_by_task ON hive_task_attempts (task_id, seq);
