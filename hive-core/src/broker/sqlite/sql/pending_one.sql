-- One in-flight delivery, with its message, checked against the receipt's topic.
SELECT p.deliveries, m.body
FROM broker_pending p JOIN broker_messages m ON m.seq = p.seq
WHERE p.subscription = ?1 AND p.seq = ?2 AND m.topic = ?3
