-- 人员变更 — changes of an insured person's status, tier, division or a death reported by the
-- business system with their effective dates (S6.6, issue 7). Kept by the source record id, so
-- a repeated sync changes nothing; the person's row shows the latest change already in force.

CREATE TABLE person_changes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    source_system TEXT NOT NULL,
    source_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    effective_date DATE NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    applied_at TIMESTAMPTZ,
    CONSTRAINT person_changes_source_system_source_id_key UNIQUE (source_system, source_id)
);
CREATE INDEX person_changes_person_idx ON person_changes (person_id, kind, effective_date);
CREATE INDEX person_changes_due_idx ON person_changes (applied_at, effective_date);
