DELETE FROM broker_messages WHERE published_at < ?1
