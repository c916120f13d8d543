-- Whether sqlx's bookkeeping table exists (on the search path): a database
-- no build has migrated yet has none, and reading the schema must not
-- create it.
SELECT to_regclass('_sqlx_migrations') IS NOT NULL
