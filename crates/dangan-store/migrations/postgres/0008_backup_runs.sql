-- 备份 — each backup run per target: what it was, how it ended, what it copied. A run that died
-- keeps status 'running' with no finished_at; the next run of that target marks it failed.

CREATE TABLE backup_runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target TEXT NOT NULL,
    set_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    objects BIGINT NOT NULL DEFAULT 0,
    bytes BIGINT NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX backup_runs_target_idx ON backup_runs (target, id);
