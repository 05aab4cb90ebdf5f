-- Issue 18: a name search finds a name containing the text anywhere (明 finds 王明 and 李明华),
-- not only from its start. Every suffix of every name is kept beside the person, so that
-- "contains" becomes "some suffix starts with", a range of this table's key in byte order
-- (`COLLATE "C"`), answered by the index however rare the text. The table is kept by a trigger,
-- so that every way a name is written (registration, import, correction) keeps it, and nothing
-- written by an older version is missed: the rows below are made for the persons already held.

-- 姓名后缀 — one suffix of a person's name (the whole name is its first).
CREATE TABLE person_name_suffixes (
    suffix TEXT COLLATE "C" NOT NULL,
    person_id BIGINT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    PRIMARY KEY (suffix, person_id)
);

INSERT INTO person_name_suffixes (suffix, person_id)
SELECT DISTINCT substr(p.name, i), p.id
FROM persons p, generate_series(1, char_length(p.name)) AS i;

CREATE FUNCTION persons_name_suffixes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.name IS NOT DISTINCT FROM OLD.name THEN
            RETURN NEW;
        END IF;
        DELETE FROM person_name_suffixes
        WHERE person_id = OLD.id
          AND suffix IN (SELECT substr(OLD.name, i) FROM generate_series(1, char_length(OLD.name)) AS i);
    END IF;
    INSERT INTO person_name_suffixes (suffix, person_id)
    SELECT substr(NEW.name, i), NEW.id FROM generate_series(1, char_length(NEW.name)) AS i
    ON CONFLICT DO NOTHING;
    RETURN NEW;
END
$$;

CREATE TRIGGER persons_name_suffixes AFTER INSERT OR UPDATE OF name ON persons
FOR EACH ROW EXECUTE FUNCTION persons_name_suffixes();
