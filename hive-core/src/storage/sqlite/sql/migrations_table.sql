-- Whether sqlx's bookkeeping table exists: a file no build has migrated
-- yet has none, and reading the schema must not create it.
SELECT EXISTS (
    SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'
)
