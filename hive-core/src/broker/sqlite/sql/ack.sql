DELETE FROM broker_pending
WHERE subscription = ?1 AND seq = ?2
  AND EXISTS (SELECT 1 FROM broker_messages m WHERE m.seq = ?2 AND m.topic = ?3)
