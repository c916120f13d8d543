SELECT dimension FROM context_entries WHERE model = $1 AND dimension <> $2 LIMIT 1
