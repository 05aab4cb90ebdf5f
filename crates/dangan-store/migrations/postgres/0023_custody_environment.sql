-- Issue 19, S2.3 and S7.1: the custody post's daily check of each room (readings and a checklist
-- the agency edits), the environment data loggers of each room, every reading (from a logger, an
-- imported export, or the daily check), and environment alerts with the action taken.
-- The outbox also carries a room's alerts: its rows are ordered per person or per room, so
-- `person_id` becomes nullable beside a new `room_id`. (SQLite rebuilds the table; here it is an ALTER.)

CREATE TABLE custody_checklist_items (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL,
    position BIGINT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT custody_checklist_items_name_key UNIQUE (name)
);
INSERT INTO custody_checklist_items (name, position, active, created_at) VALUES
    ('烟感报警器', 1, TRUE, '2026-12-07T00:00:00+00:00'),
    ('灭火器', 2, TRUE, '2026-12-07T00:00:00+00:00'),
    ('监控摄像头', 3, TRUE, '2026-12-07T00:00:00+00:00'),
    ('除湿机', 4, TRUE, '2026-12-07T00:00:00+00:00'),
    ('门窗门锁', 5, TRUE, '2026-12-07T00:00:00+00:00');

-- One check per room and Beijing date.
CREATE TABLE custody_checks (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room_id BIGINT NOT NULL REFERENCES rooms (id),
    check_date DATE NOT NULL,
    temperature_dc BIGINT NOT NULL,
    humidity_pm BIGINT NOT NULL,
    note TEXT,
    by_user TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    CONSTRAINT custody_checks_room_id_check_date_key UNIQUE (room_id, check_date)
);

CREATE TABLE custody_check_items (
    check_id BIGINT NOT NULL REFERENCES custody_checks (id),
    item_id BIGINT NOT NULL REFERENCES custody_checklist_items (id),
    ok BOOLEAN NOT NULL,
    note TEXT,
    PRIMARY KEY (check_id, item_id)
);

CREATE TABLE environment_loggers (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code TEXT NOT NULL,
    room_id BIGINT NOT NULL REFERENCES rooms (id),
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT environment_loggers_code_key UNIQUE (code)
);

-- Temperature in tenths of a degree, humidity in tenths of a per cent. A logger's reading is
-- stored once per timestamp (a replayed batch adds nothing).
CREATE TABLE environment_readings (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room_id BIGINT NOT NULL REFERENCES rooms (id),
    logger_id BIGINT REFERENCES environment_loggers (id),
    source TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    temperature_dc BIGINT NOT NULL,
    humidity_pm BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT environment_readings_logger_id_at_key UNIQUE (logger_id, at)
);
CREATE INDEX environment_readings_room_idx ON environment_readings (room_id, at);

-- At most one open alert per room and measure.
CREATE TABLE environment_alerts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room_id BIGINT NOT NULL REFERENCES rooms (id),
    measure TEXT NOT NULL,
    state TEXT NOT NULL,
    raised_at TIMESTAMPTZ NOT NULL,
    reading_at TIMESTAMPTZ NOT NULL,
    value BIGINT NOT NULL,
    action TEXT,
    action_at TIMESTAMPTZ,
    action_by TEXT,
    closed_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX environment_alerts_open_key ON environment_alerts (room_id, measure) WHERE state = 'open';

ALTER TABLE outbox ALTER COLUMN person_id DROP NOT NULL;
ALTER TABLE outbox ADD COLUMN room_id BIGINT REFERENCES rooms (id);
ALTER TABLE outbox ADD CONSTRAINT outbox_one_key_check CHECK ((person_id IS NULL) <> (room_id IS NULL));
CREATE INDEX outbox_undelivered_room_idx ON outbox (room_id, id) WHERE delivered_at IS NULL;
