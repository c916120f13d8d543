-- A patch: NULL leaves a field as it is.
UPDATE context_entries SET
    importance = COALESCE($1, importance),
    tier       = COALESCE($2, tier),
    pinned     = COALESCE($3, pinned),
    metadata   = COALESCE($4::jsonb, metadata)
WHERE id = $5
RETURNING id, model, embedding::text AS embedding, content, agent, session, kind, tier,
          importance, pinned, metadata, created_at, accessed_at, access_count
