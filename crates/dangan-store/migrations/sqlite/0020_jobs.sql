-- Issue 17: one durable job system for the work no request waits for (scrub, backups, log
-- anchors, person changes coming into force, webhook delivery, and whatever comes later).
--
-- A job is queued with the earliest time it may run; a worker of any `serve` node claims it,
-- holding a lease it renews while it works. A node that dies stops renewing: when the lease
-- has run out, another node claims the job again (a new attempt). Every attempt is kept in
-- job_attempts, so the history shows who ran what, how long, and how it ended.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    -- The schedule slot this run belongs to (e.g. '2026-12-06T03:00'); one run per slot.
    slot TEXT,
    -- At most one job per (kind, dedupe) queued or running: no second scrub beside a first.
    dedupe TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_after TEXT NOT NULL,
    created_at TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    node TEXT,
    lease_until TEXT,
    progress TEXT NOT NULL DEFAULT '',
    result TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX jobs_slot_once ON jobs (kind, slot);
CREATE UNIQUE INDEX jobs_dedupe_once ON jobs (kind, dedupe)
    WHERE dedupe IS NOT NULL AND state IN ('queued', 'running');
CREATE INDEX jobs_due_idx ON jobs (state, run_after);
CREATE INDEX jobs_kind_idx ON jobs (kind, id);

CREATE TABLE job_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    node TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT NOT NULL DEFAULT 'running',
    error TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX job_attempts_once ON job_attempts (job_id, attempt);

-- Each schedule's last slot that was enqueued. A node enqueues the next slot only by moving
-- this row on from the slot it read, so several nodes enqueue each slot once between them.
CREATE TABLE job_schedules (
    name TEXT PRIMARY KEY,
    last_slot TEXT NOT NULL
);
