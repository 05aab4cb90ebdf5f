-- Issue 15: SQLite drops the UNIQUE constraint on the sealed identity number here; PostgreSQL
-- dropped it in 0016 (`persons_id_number_key`). Nothing to do.
SELECT 1;
