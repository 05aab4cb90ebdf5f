-- Scans from a hot folder that matched no material item, or more than one: kept on the list with
-- the reason until an archivist resolves them. Nothing is dropped.

CREATE TABLE ingest_quarantine (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    resolved_at TIMESTAMPTZ,
    CONSTRAINT ingest_quarantine_file_name_sha256_key UNIQUE (file_name, sha256)
);
