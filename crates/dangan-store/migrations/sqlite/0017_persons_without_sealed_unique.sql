-- Issue 15: the UNIQUE constraint on the sealed identity number, kept by 0016 because SQLite
-- cannot drop a constraint, holds distinct ciphertexts (every seal has its own nonce) and guards
-- nothing; uniqueness is the blind index's (`persons_id_number_hmac_key`). Its index of random
-- 100-byte keys cost a page write per registered person: bulk registration of a million persons
-- ran 1.5 times faster without it. The table is rebuilt without it, the documented way (the
-- migration runs with foreign keys off and is checked before it commits; see `migrate.rs`).
CREATE TABLE persons_new (
    id INTEGER PRIMARY KEY,
    id_number_enc TEXT NOT NULL,
    name TEXT NOT NULL,
    sex TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    division_code TEXT NOT NULL,
    status TEXT NOT NULL,
    tier INTEGER,
    identity TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    id_number_hmac TEXT
);
INSERT INTO persons_new (id, id_number_enc, name, sex, birth_date, division_code, status, tier, identity, created_at, updated_at, id_number_hmac)
    SELECT id, id_number_enc, name, sex, birth_date, division_code, status, tier, identity, created_at, updated_at, id_number_hmac FROM persons;
DROP TABLE persons;
ALTER TABLE persons_new RENAME TO persons;
CREATE INDEX persons_name_idx ON persons (name);
CREATE INDEX persons_division_idx ON persons (division_code, birth_date, id);
CREATE UNIQUE INDEX persons_id_number_hmac_key ON persons (id_number_hmac);
