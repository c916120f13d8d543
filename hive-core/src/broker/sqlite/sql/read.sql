-- A topic's messages from a position, oldest first.
SELECT seq, body, published_at FROM broker_messages
WHERE topic = ?1 AND seq >= ?2 AND published_at >= ?3
ORDER BY seq
LIMIT ?4
