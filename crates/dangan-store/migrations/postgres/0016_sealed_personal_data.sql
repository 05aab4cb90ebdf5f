-- Issue 14 §2: identity numbers encrypted at rest. A full identity number is stored only sealed
-- (`sealing.rs`: AES-256-GCM or SM4-GCM under a field key), beside a keyed blind index
-- (HMAC-SHA-256 under the PII key of the key directory) for exact search and uniqueness.
-- Rows written by an older version hold plain text until the application seals them at its
-- next start (its `legacy-v1` pass): `id_number_hmac IS NULL` marks such a person,
-- `file_name_enc IS NULL` such a quarantined file, and a manifest or payload without the
-- `dgf1:` prefix such a text.

-- 字段密钥 — the field keys, each wrapped by the master key of the key directory.
CREATE TABLE field_keys (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cipher TEXT NOT NULL,
    wrapped_key TEXT NOT NULL,
    master_key_id TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- One-off passes over the sealed columns that have finished (e.g. `legacy-v1`).
CREATE TABLE sealing_passes (
    name TEXT PRIMARY KEY,
    finished_at TIMESTAMPTZ NOT NULL
);

ALTER TABLE persons RENAME COLUMN id_number TO id_number_enc;
ALTER TABLE persons DROP CONSTRAINT persons_id_number_key;
ALTER TABLE persons ADD COLUMN id_number_hmac TEXT;
CREATE UNIQUE INDEX persons_id_number_hmac_key ON persons (id_number_hmac);
-- Lists are arranged by division, then birth date (the identity number's order within a
-- division, as far as it can be without the number), then registration.
DROP INDEX persons_division_idx;
CREATE INDEX persons_division_idx ON persons (division_code, birth_date, id);

-- A quarantined hot-folder file: the keyed hash of its full name (unique with the content),
-- the name with any identity number masked (for lists), and the full name sealed.
ALTER TABLE ingest_quarantine RENAME COLUMN file_name TO file_name_hmac;
ALTER TABLE ingest_quarantine ADD COLUMN file_name_masked TEXT;
ALTER TABLE ingest_quarantine ADD COLUMN file_name_enc TEXT;
