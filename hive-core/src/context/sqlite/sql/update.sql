-- A patch: NULL leaves a field as it is.
UPDATE context_entries SET
    importance = COALESCE(?, importance),
    tier       = COALESCE(?, tier),
    pinned     = COALESCE(?, pinned),
    metadata   = COALESCE(?, metadata),
    version    = ?
WHERE id = ?
RETURNING id, model, embedding, content, agent, session, kind, tier, importance,
          pinned, metadata, created_at, accessed_at, access_count
