-- Foundation of the archive: users and sessions, insured persons, the versioned filing
-- catalogue, business events with their material items, the working-day calendar and the
-- archive-number counters. Dates are DATE; instants are TIMESTAMPTZ.

CREATE TABLE users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT users_username_key UNIQUE (username)
);

CREATE TABLE sessions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE persons (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id_number TEXT NOT NULL,
    name TEXT NOT NULL,
    sex TEXT NOT NULL,
    birth_date DATE NOT NULL,
    division_code TEXT NOT NULL,
    status TEXT NOT NULL,
    tier BIGINT,
    identity TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT persons_id_number_key UNIQUE (id_number)
);
CREATE INDEX persons_name_idx ON persons (name text_pattern_ops);
CREATE INDEX persons_division_idx ON persons (division_code, id_number);

CREATE TABLE catalogue_versions (
    version BIGINT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT NOT NULL,
    note TEXT NOT NULL
);

CREATE TABLE catalogue_entries (
    version BIGINT NOT NULL REFERENCES catalogue_versions (version),
    position BIGINT NOT NULL,
    business_type TEXT NOT NULL,
    material_code TEXT NOT NULL,
    name TEXT NOT NULL,
    required BOOLEAN NOT NULL,
    retention TEXT NOT NULL,
    paper_original_kept BOOLEAN NOT NULL,
    scan_required BOOLEAN NOT NULL,
    PRIMARY KEY (version, business_type, material_code)
);

CREATE TABLE business_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    business_type TEXT NOT NULL,
    business_date DATE NOT NULL,
    handler TEXT NOT NULL,
    source_system TEXT NOT NULL,
    external_id TEXT,
    catalogue_version BIGINT NOT NULL REFERENCES catalogue_versions (version),
    remarks TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT business_events_source_system_external_id_key UNIQUE (source_system, external_id)
);
CREATE INDEX business_events_person_idx ON business_events (person_id, business_date);

CREATE TABLE material_items (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id BIGINT NOT NULL REFERENCES business_events (id),
    material_code TEXT NOT NULL,
    name TEXT NOT NULL,
    formation_date DATE NOT NULL,
    pages BIGINT NOT NULL,
    carrier TEXT NOT NULL,
    retention TEXT NOT NULL,
    appraisal_due DATE,
    remarks TEXT,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX material_items_event_idx ON material_items (event_id);

CREATE TABLE calendar_years (
    year BIGINT PRIMARY KEY,
    source TEXT NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL,
    loaded_by TEXT NOT NULL
);

CREATE TABLE calendar_days (
    day DATE PRIMARY KEY,
    year BIGINT NOT NULL REFERENCES calendar_years (year) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name TEXT NOT NULL
);
CREATE INDEX calendar_days_year_idx ON calendar_days (year);

CREATE TABLE archive_counters (
    year BIGINT NOT NULL,
    business_class TEXT NOT NULL,
    last_serial BIGINT NOT NULL,
    PRIMARY KEY (year, business_class)
);

CREATE TABLE archive_numbers (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    archive_number TEXT NOT NULL,
    year BIGINT NOT NULL,
    business_class TEXT NOT NULL,
    serial BIGINT NOT NULL,
    allocated_at TIMESTAMPTZ NOT NULL,
    allocated_by TEXT NOT NULL,
    CONSTRAINT archive_numbers_archive_number_key UNIQUE (archive_number),
    CONSTRAINT archive_numbers_year_business_class_serial_key UNIQUE (year, business_class, serial)
);
