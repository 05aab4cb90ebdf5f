-- Issue 18: a name search finds a name containing the text anywhere (明 finds 王明 and 李明华),
-- not only from its start. Every suffix of every name is kept beside the person, so that
-- "contains" becomes "some suffix starts with", a range of this table's key in byte order
-- (`BINARY`), answered by the index however rare the text. The table is kept by triggers, so that
-- every way a name is written (registration, import, correction) keeps it, and nothing written
-- by an older version is missed: the rows below are made for the persons already held.

-- 1..64: the character positions of a name (a name holds at most 30 characters); a trigger
-- cannot use a recursive common table expression.
CREATE TABLE name_positions (n INTEGER PRIMARY KEY);
WITH RECURSIVE p(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM p WHERE n < 64)
INSERT INTO name_positions (n) SELECT n FROM p;

-- 姓名后缀 — one suffix of a person's name (the whole name is its first).
CREATE TABLE person_name_suffixes (
    suffix TEXT NOT NULL,
    person_id INTEGER NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    PRIMARY KEY (suffix, person_id)
) WITHOUT ROWID;

INSERT INTO person_name_suffixes (suffix, person_id)
SELECT DISTINCT substr(p.name, n.n), p.id
FROM persons p JOIN name_positions n ON n.n <= length(p.name);

CREATE TRIGGER persons_name_suffixes_insert AFTER INSERT ON persons
BEGIN
    INSERT OR IGNORE INTO person_name_suffixes (suffix, person_id)
    SELECT substr(NEW.name, n), NEW.id FROM name_positions WHERE n <= length(NEW.name);
END;

CREATE TRIGGER persons_name_suffixes_update AFTER UPDATE OF name ON persons
WHEN NEW.name IS NOT OLD.name
BEGIN
    DELETE FROM person_name_suffixes
    WHERE person_id = OLD.id
      AND suffix IN (SELECT substr(OLD.name, n) FROM name_positions WHERE n <= length(OLD.name));
    INSERT OR IGNORE INTO person_name_suffixes (suffix, person_id)
    SELECT substr(NEW.name, n), NEW.id FROM name_positions WHERE n <= length(NEW.name);
END;
