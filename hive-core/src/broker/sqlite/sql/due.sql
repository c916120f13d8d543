-- Deliveries of a subscription whose ack timeout (or nack delay) ran out,
-- with their message; a NULL body means retention removed the message.
SELECT p.seq, p.deliveries, m.body, m.topic, m.published_at
FROM broker_pending p LEFT JOIN broker_messages m ON m.seq = p.seq
WHERE p.subscription = ?1 AND p.due_at <= ?2
ORDER BY p.due_at, p.seq
LIMIT ?3
