-- The embedded broker: one append-only log for every topic, the topics
-- seen, durable subscriptions and their in-flight deliveries.

-- The log. `seq` is the offset: AUTOINCREMENT so an offset is never reused
-- even after the newest rows are trimmed or purged (a subscription's cursor
-- must never skip a new message). `body` is the message as JSON; for
-- dead-letter and replay topics its `topic` field keeps the original topic.
CREATE TABLE broker_messages (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    topic        TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    published_at INTEGER NOT NULL,
    body         TEXT    NOT NULL
);
CREATE INDEX broker_messages_by_topic ON broker_messages (topic, seq);
CREATE INDEX broker_messages_by_time ON broker_messages (published_at);

-- Every topic that was ever published to; rowid order lets a reader load
-- only the topics new since its last look.
CREATE TABLE broker_topics (
    topic      TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- Durable subscriptions. `cursor` is the highest seq this subscription has
-- considered: everything above it on matching topics is still to deliver.
CREATE TABLE broker_subscriptions (
    name           TEXT    PRIMARY KEY,
    patterns       TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    ack_timeout_ms INTEGER NOT NULL,
    max_deliveries INTEGER NOT NULL,
    cursor         INTEGER NOT NULL
) WITHOUT ROWID;

-- Deliveries in flight: due_at is when an unacknowledged delivery is due
-- again (delivered at + ack timeout, or a nack's delay).
CREATE TABLE broker_pending (
    subscription TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    deliveries   INTEGER NOT NULL,
    consumer     TEXT    NOT NULL,
    due_at       INTEGER NOT NULL,
    PRIMARY KEY (subscription, seq)
) WITHOUT ROWID;
CREATE INDEX broker_pending_due ON broker_pending (subscription, due_at);
