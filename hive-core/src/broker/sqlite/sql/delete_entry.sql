DELETE FROM broker_messages WHERE topic = ?1 AND seq = ?2
