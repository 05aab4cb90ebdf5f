-- 三员账号双人审批 — requests to create an officer account (administrator, security officer,
-- auditor) or to change an account into, out of or within an officer role, or to disable,
-- enable or unlock one. One officer requests; another officer (not the requester, not the
-- target) approves or rejects. The decision is a conditional update of a pending row, so a
-- request is decided once. No password is ever stored here: the one of a created account is
-- generated at approval and shown to the approver once.

CREATE TABLE account_requests (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    target_user_id BIGINT REFERENCES users (id),
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    from_role TEXT,
    from_disabled BOOLEAN,
    role TEXT NOT NULL,
    disabled BOOLEAN NOT NULL,
    reason TEXT NOT NULL,
    requested_by BIGINT NOT NULL REFERENCES users (id),
    requested_by_name TEXT NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    decided_by BIGINT REFERENCES users (id),
    decided_by_name TEXT,
    decided_at TIMESTAMPTZ,
    decision_note TEXT,
    created_user_id BIGINT REFERENCES users (id),
    CONSTRAINT account_requests_kind_check CHECK (kind IN ('create', 'change')),
    CONSTRAINT account_requests_state_check CHECK (state IN ('pending', 'approved', 'rejected'))
);
CREATE INDEX account_requests_state_idx ON account_requests (state, id);
