-- Issue 19, S2.3 and S7.1: the custody post's daily check of each room (readings and a checklist
-- the agency edits), the environment data loggers of each room, every reading (from a logger, an
-- imported export, or the daily check), and environment alerts with the action taken.
-- The outbox also carries a room's alerts: its rows are ordered per person or per room, so
-- `person_id` becomes nullable beside a new `room_id`. SQLite cannot drop NOT NULL, so the table
-- is rebuilt the documented way (`SQLITE_REBUILDS` in migrate.rs).

CREATE TABLE custody_checklist_items (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TEXT NOT NULL,
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
    id INTEGER PRIMARY KEY,
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    check_date TEXT NOT NULL,
    temperature_dc INTEGER NOT NULL,
    humidity_pm INTEGER NOT NULL,
    note TEXT,
    by_user TEXT NOT NULL,
    at TEXT NOT NULL,
    CONSTRAINT custody_checks_room_id_check_date_key UNIQUE (room_id, check_date)
);

CREATE TABLE custody_check_items (
    check_id INTEGER NOT NULL REFERENCES custody_checks (id),
    item_id INTEGER NOT NULL REFERENCES custody_checklist_items (id),
    ok BOOLEAN NOT NULL,
    note TEXT,
    PRIMARY KEY (check_id, item_id)
);

CREATE TABLE environment_loggers (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL,
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    created_at TEXT NOT NULL,
    CONSTRAINT environment_loggers_code_key UNIQUE (code)
);

-- Temperature in tenths of a degree, humidity in tenths of a per cent. A logger's reading is
-- stored once per timestamp (a replayed batch adds nothing).
CREATE TABLE environment_readings (
    id INTEGER PRIMARY KEY,
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    logger_id INTEGER REFERENCES environment_loggers (id),
    source TEXT NOT NULL,
    at TEXT NOT NULL,
    temperature_dc INTEGER NOT NULL,
    humidity_pm INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    CONSTRAINT environment_readings_logger_id_at_key UNIQUE (logger_id, at)
);
CREATE INDEX environment_readings_room_idx ON environment_readings (room_id, at);

-- At most one open alert per room and measure.
CREATE TABLE environment_alerts (
    id INTEGER PRIMARY KEY,
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    measure TEXT NOT NULL,
    state TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    reading_at TEXT NOT NULL,
    value INTEGER NOT NULL,
    action TEXT,
    action_at TEXT,
    action_by TEXT,
    closed_at TEXT
);
CREATE UNIQUE INDEX environment_alerts_open_key ON environment_alerts (room_id, measure) WHERE state = 'open';

CREATE TABLE outbox_new (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    person_id INTEGER REFERENCES persons (id),
    room_id INTEGER REFERENCES rooms (id),
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    delivered_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT,
    CHECK ((person_id IS NULL) <> (room_id IS NULL))
);
INSERT INTO outbox_new (id, kind, person_id, payload, created_at, delivered_at, attempts, next_attempt_at, last_error)
    SELECT id, kind, person_id, payload, created_at, delivered_at, attempts, next_attempt_at, last_error FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_undelivered_person_idx ON outbox (person_id, id) WHERE delivered_at IS NULL;
CREATE INDEX outbox_undelivered_room_idx ON outbox (room_id, id) WHERE delivered_at IS NULL;
