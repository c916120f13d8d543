-- Message history, embedded: a queryable record of what went through the
-- broker, kept apart from the broker's own log so the broker's retention
-- never touches it. One row per message id. Times are milliseconds since
-- the Unix epoch; ids are UUIDs in their hyphenated lowercase text form,
-- whose text order is their byte order (ties in time sort by id).
CREATE TABLE IF NOT EXISTS message_history (
    seq            INTEGER PRIMARY KEY,
    id             TEXT    NOT NULL UNIQUE,
    topic          TEXT    NOT NULL,
    from_agent     TEXT,
    to_agent       TEXT,
    kind           TEXT    NOT NULL,
    correlation_id TEXT,
    -- Serialised JSON, returned byte for byte.
    payload        TEXT    NOT NULL,
    headers        TEXT    NOT NULL,
    -- The message's own timestamp (the publisher's clock).
    created_at     INTEGER NOT NULL,
    -- The message's offset in its topic, as the broker numbered it.
    topic_offset   INTEGER NOT NULL,
    -- When the broker stored it: history's order and time filters use this.
    published_at   INTEGER NOT NULL
);

-- Every lookup is "these rows, in (published_at, id) order", so each index
-- ends with that order and a query reads the first rows of one range.
-- Topic ranges also serve wildcard patterns through their literal prefix.
CREATE INDEX IF NOT EXISTS message_history_topic
    ON message_history (topic, published_at, id);
CREATE INDEX IF NOT EXISTS message_history_from
    ON message_history (from_agent, published_at, id) WHERE from_agent IS NOT NULL;
CREATE INDEX IF NOT EXISTS message_history_to
    ON message_history (to_agent, published_at, id) WHERE to_agent IS NOT NULL;
CREATE INDEX IF NOT EXISTS message_history_correlation
    ON message_history (correlation_id, published_at, id) WHERE correlation_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS message_history_published
    ON message_history (published_at, id);
