SELECT COUNT(*) FROM broker_messages WHERE topic = ?1
