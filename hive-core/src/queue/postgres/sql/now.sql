-- The database clock, which every process shares, in milliseconds.
SELECT hive_now_ms()
