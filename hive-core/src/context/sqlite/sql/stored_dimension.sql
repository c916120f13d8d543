SELECT dimension FROM context_entries WHERE model = ? AND dimension <> ? LIMIT 1
