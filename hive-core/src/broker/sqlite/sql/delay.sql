UPDATE broker_pending SET due_at = ?3 WHERE subscription = ?1 AND seq = ?2
