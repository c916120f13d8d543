-- One HNSW index per model, over its vectors at their true dimension.
-- {name}, {dimension} and {model} are filled in by the store (the model id
-- is checked to hold no quote). m and ef_construction: pgvector's defaults,
-- which the recall test and the benchmark measure.
CREATE INDEX IF NOT EXISTS {name} ON context_entries
USING hnsw ((embedding::vector({dimension})) vector_ip_ops)
WITH (m = 16, ef_construction = 64)
WHERE model = '{model}'
