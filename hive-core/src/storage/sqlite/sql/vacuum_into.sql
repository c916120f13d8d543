-- A consistent copy of the whole file, compacted, into a new file: one
-- read transaction, so writers in WAL mode go on meanwhile.
VACUUM INTO ?1
