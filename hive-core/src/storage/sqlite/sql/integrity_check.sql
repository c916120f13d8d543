-- One row `ok`, or one row per problem found.
PRAGMA integrity_check
