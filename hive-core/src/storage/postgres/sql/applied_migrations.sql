-- The versions of every migration sqlx recorded, applied or failed: the
-- shared schema's and the context store's, which share the table.
SELECT version FROM _sqlx_migrations ORDER BY version
