UPDATE broker_subscriptions SET ack_timeout_ms = ?2, max_deliveries = ?3 WHERE name = ?1
