-- Entries of one topic (a dead-letter topic), oldest first.
SELECT seq, body, published_at FROM broker_messages WHERE topic = ?1 ORDER BY seq LIMIT ?2
