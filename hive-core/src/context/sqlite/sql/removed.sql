SELECT id FROM context_tombstones WHERE version > ?
