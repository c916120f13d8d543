-- Topics registered since the reader's last look.
SELECT rowid, topic FROM broker_topics WHERE rowid > ?1 ORDER BY rowid
