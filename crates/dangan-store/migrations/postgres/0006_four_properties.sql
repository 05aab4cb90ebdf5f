-- The four-property report (四性检测, DA/T 70 style) of each file at ingest, as JSON.
ALTER TABLE files ADD COLUMN checks TEXT NOT NULL DEFAULT '';
