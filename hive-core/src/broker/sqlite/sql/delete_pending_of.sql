DELETE FROM broker_pending WHERE subscription = ?1
