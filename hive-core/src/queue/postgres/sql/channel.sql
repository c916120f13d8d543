-- The LISTEN/NOTIFY channel of queue $1 (defined once, in the migration).
SELECT hive_channel($1)
