UPDATE context_entries
SET accessed_at = $1, access_count = access_count + 1
WHERE id = ANY($2)
