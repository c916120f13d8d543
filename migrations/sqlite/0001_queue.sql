-- The task queue, embedded. One row per task; `seq` gives FIFO order within
-- a priority. Times are milliseconds since the Unix epoch.
CREATE TABLE IF NOT EXISTS hive_tasks (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT    NOT NULL UNIQUE,
    queue            TEXT    NOT NULL,
    task_type        TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    priority         INTEGER NOT NULL,
    capabilities     TEXT    NOT NULL,
    dependencies     TEXT    NOT NULL,
    pending_deps     INTEGER NOT NULL DEFAULT 0,
    -- 1 once another task waits on this one: completing it must then
    -- unblock dependents; 0 lets completion skip that work.
    has_dependents   INTEGER NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    timeout_ms       INTEGER NOT NULL,
    idempotency_key  TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    run_at           INTEGER,
    started_at       INTEGER,
    finished_at      INTEGER,
    lease_expires_at INTEGER,
    deadline         INTEGER,
    lease_ms         INTEGER,
    lease_token      TEXT,
    worker           TEXT,
    result           TEXT,
    error            TEXT
);

-- Claim order: ready tasks of one queue by priority, then submit order.
CREATE INDEX IF NOT EXISTS hive_tasks_ready ON hive_tasks (queue, status, priority, seq);
-- Due delayed tasks and expiring leases.
CREATE INDEX IF NOT EXISTS hive_tasks_due ON hive_tasks (queue, status, run_at);
CREATE INDEX IF NOT EXISTS hive_tasks_leases ON hive_tasks (queue, status, lease_expires_at);
CREATE UNIQUE INDEX IF NOT EXISTS hive_tasks_idempotency
    ON hive_tasks (queue, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Edges from a waiting task to each dependency it still waits for.
CREATE TABLE IF NOT EXISTS hive_task_deps (
    depends_on TEXT NOT NULL,
    task_id    TEXT NOT NULL,
    PRIMARY KEY (depends_on, task_id)
) WITHOUT ROWID;
