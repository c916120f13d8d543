INSERT INTO broker_messages (topic, id, published_at, body) VALUES (?1, ?2, ?3, ?4)
