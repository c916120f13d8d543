DELETE FROM context_tombstones WHERE version < ?
