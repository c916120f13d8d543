INSERT INTO broker_subscriptions (name, patterns, created_at, ack_timeout_ms, max_deliveries, cursor)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
