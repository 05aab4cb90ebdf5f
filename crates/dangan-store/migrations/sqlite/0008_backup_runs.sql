-- 备份 — each backup run per target: what it was, how it ended, what it copied. A run that died
-- keeps status 'running' with no finished_at; the next run of that target marks it failed.

CREATE TABLE backup_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    set_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    objects INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX backup_runs_target_idx ON backup_runs (target, id);
