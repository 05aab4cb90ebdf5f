-- 巡检 — each run that re-verified every blob and seal (scheduled, or `dangan verify`), with what
-- it found. A run that never finished keeps finished_at NULL.

CREATE TABLE scrub_runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trigger TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    files_checked BIGINT NOT NULL DEFAULT 0,
    files_failed BIGINT NOT NULL DEFAULT 0,
    failed_file_ids TEXT NOT NULL DEFAULT ''
);
