-- Sessions, embedded: a group of agents and the conversation they hold.
-- Times are milliseconds since the Unix epoch. A session is written only
-- by a transaction whose first statement updates its row (a counter), so
-- that transaction holds the file's write lock from its first read: seq
-- numbers and join positions come out gap-free whichever handle writes.
CREATE TABLE IF NOT EXISTS hive_sessions (
    id            TEXT    NOT NULL PRIMARY KEY,
    name          TEXT    NOT NULL,
    -- 'open' or 'closed' (final).
    status        TEXT    NOT NULL,
    -- A JSON object of the caller's.
    state         TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    closed_at     INTEGER,
    -- The last join position handed out (agents are numbered 1, 2, 3…).
    last_position INTEGER NOT NULL,
    -- The last conversation seq handed out (entries are numbered 1, 2, 3…).
    last_seq      INTEGER NOT NULL
);

-- Listing is "newest first", of every session or of one status.
CREATE INDEX IF NOT EXISTS hive_sessions_created
    ON hive_sessions (created_at, id);
CREATE INDEX IF NOT EXISTS hive_sessions_status_created
    ON hive_sessions (status, created_at, id);

-- A session's agents, in join order; a name at most once per session.
CREATE TABLE IF NOT EXISTS hive_session_agents (
    session_id TEXT    NOT NULL REFERENCES hive_sessions (id),
    position   INTEGER NOT NULL,
    agent_name TEXT    NOT NULL,
    PRIMARY KEY (session_id, position),
    UNIQUE (session_id, agent_name)
);

-- What the agents of a session said, numbered per session; the unique
-- (session_id, seq) index also serves "entries after seq N, in order".
-- to_agent NULL means to the whole session. content is JSON text.
CREATE TABLE IF NOT EXISTS hive_conversations (
    id         TEXT    NOT NULL PRIMARY KEY,
    session_id TEXT    NOT NULL REFERENCES hive_sessions (id),
    seq        INTEGER NOT NULL,
    from_agent TEXT    NOT NULL,
    to_agent   TEXT,
    content    TEXT    NOT NULL,
    at_ms      INTEGER NOT NULL,
    UNIQUE (session_id, seq)
);
