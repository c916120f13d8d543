-- The versions of every migration sqlx recorded, applied or failed.
SELECT version FROM _sqlx_migrations ORDER BY version
