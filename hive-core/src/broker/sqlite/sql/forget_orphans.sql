-- In-flight deliveries whose message retention removed.
DELETE FROM broker_pending
WHERE NOT EXISTS (SELECT 1 FROM broker_messages m WHERE m.seq = broker_pending.seq)
