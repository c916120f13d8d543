-- The k nearest, then the threshold: the inner ORDER BY … LIMIT is what the
-- HNSW index answers (a bare `WHERE distance < t` would skip it), and the
-- outer ORDER BY restores exact order after a relaxed iterative scan. The
-- inner query computes ids and distances only: were the columns (the
-- vector as text above all) computed there, a sequential scan would
-- compute them for every row, not for the k it keeps.
--
-- The store fills in {dimension} and {model} when it opens (the model is a
-- literal so the planner can match the model's partial index), then binds
-- {vector}, {filter} (the filter's clauses), {k} and {threshold} (as a
-- distance: the negative inner product) in that order for each search.
SELECT e.id, e.model, e.embedding::text AS embedding, e.content, e.agent, e.session,
       e.kind, e.tier, e.importance, e.pinned, e.metadata, e.created_at, e.accessed_at,
       e.access_count, nearest.distance
FROM (
    SELECT id,
           (embedding::vector({dimension})) <#> ({vector}::text::vector({dimension})) AS distance
    FROM context_entries
    WHERE model = '{model}' {filter}
    ORDER BY distance
    LIMIT {k}
) nearest
JOIN context_entries e ON e.id = nearest.id
WHERE nearest.distance <= {threshold}
ORDER BY nearest.distance
