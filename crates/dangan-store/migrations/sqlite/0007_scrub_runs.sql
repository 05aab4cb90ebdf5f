-- 巡检 — each run that re-verified every blob and seal (scheduled, or `dangan verify`), with what
-- it found. A run that never finished keeps finished_at NULL.

CREATE TABLE scrub_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    files_checked INTEGER NOT NULL DEFAULT 0,
    files_failed INTEGER NOT NULL DEFAULT 0,
    failed_file_ids TEXT NOT NULL DEFAULT ''
);
