-- From business to shelf: tasks with working-day deadlines, handover lists (交接), supplements
-- (补件), volumes (案卷), corrections (更正) with their outbox to the business system, and damage
-- and loss reports. Material items gain their life-cycle columns.

ALTER TABLE material_items ADD COLUMN status TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE material_items ADD COLUMN received_on DATE;
ALTER TABLE material_items ADD COLUMN supplement_id BIGINT;
ALTER TABLE material_items ADD COLUMN volume_id BIGINT;

CREATE TABLE tasks (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    post TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id BIGINT NOT NULL,
    title TEXT NOT NULL,
    opened_on DATE NOT NULL,
    due_on DATE,
    state TEXT NOT NULL,
    done_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX tasks_post_state_idx ON tasks (post, state, due_on);
CREATE INDEX tasks_subject_idx ON tasks (subject_kind, subject_id);

CREATE TABLE handovers (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    state TEXT NOT NULL,
    note TEXT,
    created_by TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    confirmed_by TEXT,
    confirmed_by_name TEXT,
    confirmed_at TIMESTAMPTZ
);

CREATE TABLE handover_items (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    handover_id BIGINT NOT NULL REFERENCES handovers (id),
    material_id BIGINT REFERENCES material_items (id),
    name TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    formation_date DATE,
    person_id BIGINT REFERENCES persons (id),
    event_id BIGINT REFERENCES business_events (id),
    result TEXT,
    note TEXT
);
CREATE INDEX handover_items_handover_idx ON handover_items (handover_id);
CREATE INDEX handover_items_material_idx ON handover_items (material_id);

CREATE TABLE supplements (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id BIGINT NOT NULL REFERENCES business_events (id),
    material_code TEXT NOT NULL,
    material_name TEXT NOT NULL,
    requested_on DATE NOT NULL,
    due_on DATE,
    state TEXT NOT NULL,
    contacts TEXT NOT NULL DEFAULT '',
    fulfilled_by BIGINT REFERENCES material_items (id),
    closed_on DATE,
    explanation TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX supplements_event_idx ON supplements (event_id);

CREATE TABLE volumes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    year BIGINT NOT NULL,
    business_class TEXT NOT NULL,
    position BIGINT NOT NULL,
    state TEXT NOT NULL,
    archive_number TEXT,
    pages BIGINT NOT NULL,
    thickness_um BIGINT NOT NULL,
    note TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    sealed_at TIMESTAMPTZ,
    sealed_by TEXT,
    CONSTRAINT volumes_archive_number_key UNIQUE (archive_number)
);
CREATE INDEX volumes_group_idx ON volumes (year, business_class, state);

CREATE TABLE volume_items (
    volume_id BIGINT NOT NULL REFERENCES volumes (id),
    material_id BIGINT NOT NULL REFERENCES material_items (id),
    seq BIGINT NOT NULL,
    PRIMARY KEY (volume_id, seq),
    CONSTRAINT volume_items_material_id_key UNIQUE (material_id)
);

CREATE TABLE corrections (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    field TEXT NOT NULL,
    old_value TEXT NOT NULL,
    new_value TEXT NOT NULL,
    proof_material_id BIGINT NOT NULL REFERENCES material_items (id),
    basis TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX corrections_person_idx ON corrections (person_id);

CREATE TABLE outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    payload TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    delivered_at TIMESTAMPTZ
);

CREATE TABLE damage_reports (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    material_id BIGINT NOT NULL REFERENCES material_items (id),
    degree TEXT NOT NULL,
    cause TEXT NOT NULL,
    repair_by TEXT NOT NULL,
    institution TEXT,
    result TEXT,
    repaired_on DATE,
    reported_by TEXT NOT NULL,
    reported_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE loss_reports (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    material_id BIGINT NOT NULL REFERENCES material_items (id),
    reported_to TEXT NOT NULL,
    note TEXT,
    searched_handovers BOOLEAN NOT NULL DEFAULT FALSE,
    contacted_person BOOLEAN NOT NULL DEFAULT FALSE,
    recollected BOOLEAN NOT NULL DEFAULT FALSE,
    reported_by TEXT NOT NULL,
    reported_at TIMESTAMPTZ NOT NULL
);
