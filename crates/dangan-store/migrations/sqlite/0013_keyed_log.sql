-- The operation log's keyed chain (issue 13). Entries get an insertion id apart from their chain
-- position: `seq` is set when the entry joins the chain (on SQLite in the writing transaction, on
-- PostgreSQL by the sealer right after commit). `entry_mac` is the HMAC of the entry's fields,
-- `mac` the HMAC of its chain hash; both keyed with a key that lives in the key directory. Entries
-- of the earlier format keep their values (`entry_mac` and `mac` empty).
--
-- Anchors become a chain of their own (`log_anchors`: numbered, each naming the previous one's
-- digest); the earlier anchors stay in `operation_log_anchors` and are checked as before.
-- `log_witness_state` remembers which anchors each witness outside the database has received.

CREATE TABLE operation_log_keyed (
    id INTEGER PRIMARY KEY,
    seq INTEGER UNIQUE,
    at TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    role TEXT NOT NULL,
    source TEXT NOT NULL,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    outcome TEXT NOT NULL,
    entry_mac TEXT NOT NULL DEFAULT '',
    prev_hash TEXT NOT NULL DEFAULT '',
    hash TEXT NOT NULL DEFAULT '',
    mac TEXT NOT NULL DEFAULT ''
);
INSERT INTO operation_log_keyed (id, seq, at, actor_kind, actor_id, actor_name, role, source, action, target_kind, target_id, detail, outcome, prev_hash, hash)
SELECT seq, seq, at, actor_kind, actor_id, actor_name, role, source, action, target_kind, target_id, detail, outcome, prev_hash, hash
FROM operation_log ORDER BY seq;
DROP TABLE operation_log;
ALTER TABLE operation_log_keyed RENAME TO operation_log;
CREATE INDEX operation_log_target_idx ON operation_log (target_kind, target_id);
CREATE INDEX operation_log_actor_idx ON operation_log (actor_kind, actor_id);
CREATE INDEX operation_log_unsealed_idx ON operation_log (id) WHERE seq IS NULL;
-- An entry written with its chain position moves the head row with it, in the same statement:
-- the database is locked from the head's read to the commit, and every statement counts.
CREATE TRIGGER operation_log_head_follows AFTER INSERT ON operation_log
WHEN NEW.seq IS NOT NULL
BEGIN
    UPDATE operation_log_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
END;

CREATE TABLE log_anchors (
    n INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    chain TEXT NOT NULL,
    prev TEXT NOT NULL,
    legacy_until INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    tsa_token TEXT
);

CREATE TABLE log_witness_state (
    witness TEXT PRIMARY KEY,
    pushed_n INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
