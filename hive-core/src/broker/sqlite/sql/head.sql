-- The highest offset ever given out (rows may since have been deleted).
SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'broker_messages'), 0)
