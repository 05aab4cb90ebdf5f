-- Issue 15: a name search lists its matches in name order and stops at the page. SQLite's
-- `persons_name_idx (name)` already holds each entry's row id after the name, in byte order
-- (`BINARY`), so it serves `ORDER BY name, id` as it is: nothing to change here (PostgreSQL
-- rebuilds its name index in this version).
SELECT 1;
