-- Delivery of the outbox to the business system's webhook (S9.2, issue 7): each item's attempts,
-- when it is next due and why its last attempt failed, and a log of every attempt. Items are sent
-- per person in id order, so the oldest undelivered item of a person is looked up by an index on
-- the undelivered rows only.

ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;
ALTER TABLE outbox ADD COLUMN last_error TEXT;

CREATE INDEX outbox_undelivered_person_idx ON outbox (person_id, id) WHERE delivered_at IS NULL;

CREATE TABLE outbox_deliveries (
    id INTEGER PRIMARY KEY,
    outbox_id INTEGER NOT NULL REFERENCES outbox (id),
    attempt INTEGER NOT NULL,
    attempted_at TEXT NOT NULL,
    http_status INTEGER,
    outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'failed')),
    error TEXT,
    duration_ms INTEGER NOT NULL
);
CREATE INDEX outbox_deliveries_outbox_idx ON outbox_deliveries (outbox_id, attempt);
