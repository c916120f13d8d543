-- The task queue on Postgres. One table holds the tasks of every queue (the
-- `queue` column isolates them); `seq` gives FIFO order within a priority.
-- Times are milliseconds since the Unix epoch, read from the database clock
-- (`hive_now_ms()`), so every process agrees on one clock.
--
-- Many processes run this migration at once: sqlx's migrator serialises them
-- with an advisory lock, and every statement is idempotent besides.

-- Now, in milliseconds. `now()` is the transaction's start: one value for a
-- whole statement (or transaction), and STABLE, so comparisons with it can
-- use an index.
CREATE OR REPLACE FUNCTION hive_now_ms() RETURNS BIGINT
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT (extract(epoch FROM now()) * 1000)::BIGINT $$;

-- The LISTEN/NOTIFY channel of a queue. Queue names run to 64 characters but
-- channel names stop at 63 bytes, so the name is hashed; the hash is also
-- free of anything that would need quoting.
CREATE OR REPLACE FUNCTION hive_channel(queue TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT 'hive_queue_' || md5(queue) $$;

-- Wakes the queue's waiting workers when `ready` tasks became claimable;
-- returns `ready`. NOTIFY is delivered at commit, so a worker never wakes
-- to a task it cannot see yet.
CREATE OR REPLACE FUNCTION hive_wake(queue TEXT, ready BIGINT) RETURNS BIGINT
    LANGUAGE plpgsql VOLATILE
    AS $$
BEGIN
    IF ready > 0 THEN
        PERFORM pg_notify(hive_channel(queue), '');
    END IF;
    RETURN ready;
END
$$;

CREATE TABLE IF NOT EXISTS hive_tasks (
    id               UUID     NOT NULL,
    seq              BIGINT   GENERATED ALWAYS AS IDENTITY,
    queue            TEXT     NOT NULL,
    task_type        TEXT     NOT NULL,
    -- Serialised JSON, stored and returned byte for byte: the queue never
    -- looks inside, and text skips jsonb's parse on insert and re-render on
    -- every read.
    payload          TEXT     NOT NULL,
    status           TEXT     NOT NULL,
    priority         SMALLINT NOT NULL,
    -- Sorted and unique; a worker may take the task when these are all among
    -- its own (`capabilities <@ worker's`).
    capabilities     TEXT[]   NOT NULL,
    dependencies     UUID[]   NOT NULL,
    -- Dependencies not completed yet; the task is `waiting` while positive.
    pending_deps     INTEGER  NOT NULL DEFAULT 0,
    -- Set (under the row's lock) by a submit that made another task wait on
    -- this one: finishing it must then count down or fail those dependents,
    -- which the one-statement fast paths do not do.
    has_dependents   BOOLEAN  NOT NULL DEFAULT false,
    attempts         BIGINT   NOT NULL DEFAULT 0,
    max_attempts     BIGINT   NOT NULL,
    timeout_ms       BIGINT   NOT NULL,
    idempotency_key  TEXT,
    created_at       BIGINT   NOT NULL,
    updated_at       BIGINT   NOT NULL,
    run_at           BIGINT,
    started_at       BIGINT,
    finished_at      BIGINT,
    lease_expires_at BIGINT,
    deadline         BIGINT,
    lease_ms         BIGINT,
    -- Set exactly while the task is leased (assigned or in_progress): every
    -- transition out of a lease clears it.
    lease_token      UUID,
    worker           TEXT,
    result           TEXT,
    error            TEXT,
    CONSTRAINT hive_tasks_pkey PRIMARY KEY (id)
) WITH (fillfactor = 80);

-- Every status change rewrites the row's index entries (status is part of
-- the partial indexes' predicates, which rules out HOT updates), so the
-- indexes are few and partial: each holds only the rows one operation scans,
-- and together they cover every status, for statistics.
--
-- There is deliberately no index on (queue, status) or (queue) alone: when
-- statistics underestimate a queue's backlog, the planner would fetch the
-- whole backlog through it and sort it on every claim, instead of reading
-- the first rows of `hive_tasks_ready` in order.

-- Claim order: ready tasks of one queue by priority, then submit order.
CREATE INDEX IF NOT EXISTS hive_tasks_ready
    ON hive_tasks (queue, priority, seq) WHERE status = 'pending';
-- Delayed tasks by due time (claim and reap promote them).
CREATE INDEX IF NOT EXISTS hive_tasks_due
    ON hive_tasks (queue, run_at) WHERE status = 'delayed';
-- Leased tasks by lease end. A lease never outlives its attempt's deadline,
-- so attempts past their deadline are found here too.
CREATE INDEX IF NOT EXISTS hive_tasks_leases
    ON hive_tasks (queue, lease_expires_at) WHERE status IN ('assigned', 'in_progress');
-- The dead-letter store, newest first.
CREATE INDEX IF NOT EXISTS hive_tasks_dead_letters
    ON hive_tasks (queue, updated_at) WHERE status = 'dead_lettered';
-- Statuses no index above covers, for statistics.
CREATE INDEX IF NOT EXISTS hive_tasks_settled
    ON hive_tasks (queue, status) WHERE status IN ('waiting', 'completed', 'failed', 'cancelled');
CREATE UNIQUE INDEX IF NOT EXISTS hive_tasks_idempotency
    ON hive_tasks (queue, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Edges from a waiting task to each dependency it still waits for. An edge
-- is deleted when its dependency finishes, either way.
CREATE TABLE IF NOT EXISTS hive_task_deps (
    depends_on UUID NOT NULL,
    task_id    UUID NOT NULL,
    PRIMARY KEY (depends_on, task_id)
);
CREATE INDEX IF NOT EXISTS hive_task_deps_task ON hive_task_deps (task_id);
