DELETE FROM broker_messages WHERE topic = ?1
