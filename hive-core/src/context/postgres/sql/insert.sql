-- A batch in one statement: one array per column.
INSERT INTO context_entries (
    id, model, dimension, embedding, content, agent, session, kind, tier,
    importance, pinned, metadata, created_at, accessed_at
)
SELECT u.id, $1, $2, u.embedding::vector, u.content, u.agent, u.session, u.kind,
       u.tier, u.importance, u.pinned, u.metadata::jsonb, u.created_at, u.created_at
FROM UNNEST($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::int2[], $10::real[], $11::bool[], $12::text[], $13::int8[])
    AS u(id, embedding, content, agent, session, kind, tier, importance, pinned,
         metadata, created_at)
