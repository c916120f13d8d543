SELECT MIN(due_at) FROM broker_pending WHERE subscription = ?1
