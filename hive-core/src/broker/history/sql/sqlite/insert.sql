-- One message; an id already recorded is left as it is (the first record
-- wins), and the caller counts the rows this changed.
INSERT INTO message_history
    (id, topic, from_agent, to_agent, kind, correlation_id, payload, headers,
     created_at, topic_offset, published_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
ON CONFLICT (id) DO NOTHING
