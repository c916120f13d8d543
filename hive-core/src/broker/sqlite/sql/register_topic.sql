INSERT OR IGNORE INTO broker_topics (topic, created_at) VALUES (?1, ?2)
