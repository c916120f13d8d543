-- Sessions on Postgres: a group of agents and the conversation they hold,
-- shared by every process. Times are milliseconds since the Unix epoch, as
-- in the queue. A session is written only by a transaction whose first
-- statement updates its row (a counter): that row lock serialises the
-- writers of one session, so seq numbers and join positions come out
-- gap-free whichever process writes, and a rolled-back write hands none out.
CREATE TABLE IF NOT EXISTS hive_sessions (
    id            UUID    NOT NULL PRIMARY KEY,
    name          TEXT    NOT NULL,
    -- 'open' or 'closed' (final).
    status        TEXT    NOT NULL,
    -- A JSON object of the caller's.
    state         JSONB   NOT NULL,
    created_at    BIGINT  NOT NULL,
    closed_at     BIGINT,
    -- The last join position handed out (agents are numbered 1, 2, 3…).
    last_position BIGINT  NOT NULL,
    -- The last conversation seq handed out (entries are numbered 1, 2, 3…).
    last_seq      BIGINT  NOT NULL
);

-- Listing is "newest first", of every session or of one status.
CREATE INDEX IF NOT EXISTS hive_sessions_created
    ON hive_sessions (created_at, id);
CREATE INDEX IF NOT EXISTS hive_sessions_status_created
    ON hive_sessions (status, created_at, id);

-- A session's agents, in join order; a name at most once per session.
CREATE TABLE IF NOT EXISTS hive_session_agents (
    session_id UUID   NOT NULL REFERENCES hive_sessions (id) ON DELETE CASCADE,
    position   BIGINT NOT NULL,
    agent_name TEXT   NOT NULL,
    PRIMARY KEY (session_id, position),
    UNIQUE (session_id, agent_name)
);

-- What the agents of a session said, numbered per session; the unique
-- (session_id, seq) index also serves "entries after seq N, in order".
-- to_agent NULL means to the whole session.
CREATE TABLE IF NOT EXISTS hive_conversations (
    id         UUID   NOT NULL PRIMARY KEY,
    session_id UUID   NOT NULL REFERENCES hive_sessions (id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    from_agent TEXT   NOT NULL,
    to_agent   TEXT,
    content    JSONB  NOT NULL,
    at_ms      BIGINT NOT NULL,
    UNIQUE (session_id, seq)
);
