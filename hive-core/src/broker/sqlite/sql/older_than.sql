SELECT topic, COUNT(*) FROM broker_messages WHERE published_at < ?1 GROUP BY topic
