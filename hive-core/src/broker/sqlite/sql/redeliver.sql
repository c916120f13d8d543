UPDATE broker_pending SET deliveries = deliveries + 1, consumer = ?3, due_at = ?4
WHERE subscription = ?1 AND seq = ?2
