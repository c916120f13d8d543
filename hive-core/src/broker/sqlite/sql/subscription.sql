SELECT name, patterns, created_at, ack_timeout_ms, max_deliveries, cursor
FROM broker_subscriptions WHERE name = ?1
