-- Access control: the hash-chained operation log and its signed anchors, the query register,
-- insured persons' online accounts and sessions, API tokens of machine clients, and lock-out
-- counters of staff accounts.

CREATE TABLE operation_log (
    seq BIGINT PRIMARY KEY,
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
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX operation_log_target_idx ON operation_log (target_kind, target_id);
CREATE INDEX operation_log_actor_idx ON operation_log (actor_kind, actor_id);

-- One row: the newest entry. Appending locks it, so the chain has one order.
CREATE TABLE operation_log_head (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO operation_log_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE operation_log_anchors (
    seq BIGINT PRIMARY KEY,
    hash TEXT NOT NULL,
    signed_at TIMESTAMPTZ NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL
);

CREATE TABLE query_register (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    enquirer_name TEXT NOT NULL,
    enquirer_id_masked TEXT NOT NULL,
    enquirer_id_hmac TEXT NOT NULL,
    question TEXT NOT NULL,
    purpose TEXT NOT NULL,
    staff_user_id BIGINT NOT NULL REFERENCES users (id),
    staff_name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX query_register_person_idx ON query_register (person_id, created_at);
CREATE INDEX query_register_staff_idx ON query_register (staff_user_id, person_id, created_at);
CREATE INDEX query_register_enquirer_idx ON query_register (enquirer_id_hmac);

CREATE TABLE insured_accounts (
    person_id BIGINT PRIMARY KEY REFERENCES persons (id),
    password_hash TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    locked_until TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE insured_sessions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash TEXT NOT NULL,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT insured_sessions_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX insured_sessions_person_idx ON insured_sessions (person_id);

CREATE TABLE api_tokens (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    CONSTRAINT api_tokens_name_key UNIQUE (name),
    CONSTRAINT api_tokens_token_hash_key UNIQUE (token_hash)
);

ALTER TABLE users ADD COLUMN failed_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until TIMESTAMPTZ;
