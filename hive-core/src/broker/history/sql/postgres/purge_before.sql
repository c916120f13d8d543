-- One chunk of retention: the oldest rows published before $1, at most $2
-- of them, so no transaction grows with the size of history.
DELETE FROM message_history
WHERE id IN (
    SELECT id FROM message_history
    WHERE published_at < $1
    ORDER BY published_at
    LIMIT $2
)
