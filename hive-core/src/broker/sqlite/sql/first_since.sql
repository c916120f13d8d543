-- The first offset stored at or after a time.
SELECT MIN(seq) FROM broker_messages WHERE published_at >= ?1
