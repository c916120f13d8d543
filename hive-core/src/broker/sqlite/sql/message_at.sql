SELECT topic FROM broker_messages WHERE seq = ?1
