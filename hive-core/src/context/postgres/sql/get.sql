SELECT id, model, embedding::text AS embedding, content, agent, session, kind, tier,
       importance, pinned, metadata, created_at, accessed_at, access_count
FROM context_entries WHERE id = $1
