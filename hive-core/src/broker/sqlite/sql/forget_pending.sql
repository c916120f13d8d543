DELETE FROM broker_pending WHERE subscription = ?1 AND seq = ?2
