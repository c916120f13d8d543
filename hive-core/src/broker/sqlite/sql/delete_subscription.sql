DELETE FROM broker_subscriptions WHERE name = ?1
