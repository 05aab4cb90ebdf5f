-- 缴费明细 and 待遇发放 — what the insured person sees of their contributions and benefit payments
-- (S8.1), kept by the business system's record ids so that a sync upserts (issue 7). Money is in fen.

CREATE TABLE contributions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    source_system TEXT NOT NULL,
    source_id TEXT NOT NULL,
    year INTEGER NOT NULL,
    tier BIGINT NOT NULL,
    personal_fen BIGINT NOT NULL,
    subsidy_fen BIGINT NOT NULL DEFAULT 0,
    collective_fen BIGINT NOT NULL DEFAULT 0,
    paid_on DATE NOT NULL,
    channel TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT contributions_source_system_source_id_key UNIQUE (source_system, source_id)
);
CREATE INDEX contributions_person_idx ON contributions (person_id, year);

CREATE TABLE benefit_payments (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    source_system TEXT NOT NULL,
    source_id TEXT NOT NULL,
    month TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    status TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT benefit_payments_source_system_source_id_key UNIQUE (source_system, source_id)
);
CREATE INDEX benefit_payments_person_idx ON benefit_payments (person_id, month);
