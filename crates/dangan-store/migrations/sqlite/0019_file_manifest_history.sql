-- Issue 16: a scan's sealed manifest is re-issued when facts about it are fixed later (its
-- volume is sealed and it gets its archive number). The new manifest names the digest of the
-- one it replaces; the replaced manifests are kept here, each with its own seal, oldest first.
CREATE TABLE file_manifests (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files (id),
    manifest TEXT NOT NULL,
    seal TEXT NOT NULL,
    seal_key_id TEXT NOT NULL,
    superseded_at TEXT NOT NULL
);
CREATE INDEX file_manifests_file_idx ON file_manifests (file_id, id);

-- A PDF/A-2B 保存副本 (preservation copy) made of a raster scan points to its original, which
-- stays the master.
ALTER TABLE files ADD COLUMN preservation_of INTEGER REFERENCES files (id);
