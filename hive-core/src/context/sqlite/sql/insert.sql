INSERT INTO context_entries (
    id, model, dimension, embedding, content, agent, session, kind, tier,
    importance, pinned, metadata, created_at, accessed_at, access_count, version
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)
