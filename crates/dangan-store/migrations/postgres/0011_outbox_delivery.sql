-- Delivery of the outbox to the business system's webhook (S9.2, issue 7): each item's attempts,
-- when it is next due and why its last attempt failed, and a log of every attempt. Items are sent
-- per person in id order, so the oldest undelivered item of a person is looked up by an index on
-- the undelivered rows only.

ALTER TABLE outbox ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN next_attempt_at TIMESTAMPTZ;
ALTER TABLE outbox ADD COLUMN last_error TEXT;

CREATE INDEX outbox_undelivered_person_idx ON outbox (person_id, id) WHERE delivered_at IS NULL;

CREATE TABLE outbox_deliveries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outbox_id BIGINT NOT NULL REFERENCES outbox (id),
    attempt BIGINT NOT NULL,
    attempted_at TIMESTAMPTZ NOT NULL,
    http_status BIGINT,
    outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'failed')),
    error TEXT,
    duration_ms BIGINT NOT NULL
);
CREATE INDEX outbox_deliveries_outbox_idx ON outbox_deliveries (outbox_id, attempt);
