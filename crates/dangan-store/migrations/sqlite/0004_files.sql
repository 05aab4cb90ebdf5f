-- The electronic archive: blobs (content-addressed, encrypted, their data key wrapped by the
-- master key) and files (a scan of a material item, with its identification and its seal).

CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    sm3 TEXT NOT NULL,
    size INTEGER NOT NULL,
    cipher TEXT NOT NULL,
    wrapped_key TEXT NOT NULL,
    master_key_id TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    verified_at TEXT,
    verify_ok BOOLEAN
);

CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    material_id INTEGER NOT NULL REFERENCES material_items (id),
    sha256 TEXT NOT NULL REFERENCES blobs (sha256),
    original_name TEXT NOT NULL,
    format TEXT NOT NULL,
    dpi INTEGER,
    pages INTEGER,
    pdfa TEXT,
    archival BOOLEAN NOT NULL,
    flags TEXT NOT NULL,
    duplicate BOOLEAN NOT NULL,
    scanned_by TEXT NOT NULL,
    scan_date TEXT NOT NULL,
    manifest TEXT NOT NULL,
    seal TEXT NOT NULL,
    seal_key_id TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX files_material_idx ON files (material_id);
CREATE INDEX files_sha_idx ON files (sha256);
