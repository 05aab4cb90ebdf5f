-- Issue 15: a name search lists its matches in name order and stops at the page, so it reads one
-- page of the name index instead of every match. The index is in byte order (`COLLATE "C"`, the
-- order of SQLite's `BINARY`), which both a prefix range and the page's order use; the
-- `text_pattern_ops` index it replaces served only `LIKE`.
DROP INDEX persons_name_idx;
CREATE INDEX persons_name_idx ON persons ((name COLLATE "C"), id);
