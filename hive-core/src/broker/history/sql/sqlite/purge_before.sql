-- One chunk of retention: the oldest rows published before ?1, at most ?2
-- of them, so the write lock is never held for long.
DELETE FROM message_history
WHERE seq IN (
    SELECT seq FROM message_history
    WHERE published_at < ?1
    ORDER BY published_at
    LIMIT ?2
)
