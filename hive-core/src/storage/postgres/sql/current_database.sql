-- The database's name, to name it in messages without its URL.
SELECT current_database()
