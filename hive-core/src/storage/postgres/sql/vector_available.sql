-- Whether this server can create the `vector` extension the context
-- store's migration needs.
SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')
