-- 缴费明细 and 待遇发放 — what the insured person sees of their contributions and benefit payments
-- (S8.1), kept by the business system's record ids so that a sync upserts (issue 7). Money is in fen.

CREATE TABLE contributions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id INTEGER NOT NULL REFERENCES persons (id),
    source_system TEXT NOT NULL,
    source_id TEXT NOT NULL,
    year INTEGER NOT NULL,
    tier INTEGER NOT NULL,
    personal_fen INTEGER NOT NULL,
    subsidy_fen INTEGER NOT NULL DEFAULT 0,
    collective_fen INTEGER NOT NULL DEFAULT 0,
    paid_on TEXT NOT NULL,
    channel TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT contributions_source_system_source_id_key UNIQUE (source_system, source_id)
);
CREATE INDEX contributions_person_idx ON contributions (person_id, year);

CREATE TABLE benefit_payments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id INTEGER NOT NULL REFERENCES persons (id),
    source_system TEXT NOT NULL,
    source_id TEXT NOT NULL,
    month TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    status TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT benefit_payments_source_system_source_id_key UNIQUE (source_system, source_id)
);
CREATE INDEX benefit_payments_person_idx ON benefit_payments (person_id, month);
