UPDATE broker_subscriptions SET cursor = ?2 WHERE name = ?1
