DELETE FROM context_entries WHERE id = ANY($1)
