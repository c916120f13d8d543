INSERT INTO context_tombstones (version, id) VALUES (?, ?)
