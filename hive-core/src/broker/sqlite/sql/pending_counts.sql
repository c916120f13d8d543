SELECT subscription, COUNT(*) FROM broker_pending GROUP BY subscription
