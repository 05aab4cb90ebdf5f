-- From business to shelf: tasks with working-day deadlines, handover lists (交接), supplements
-- (补件), volumes (案卷), corrections (更正) with their outbox to the business system, and damage
-- and loss reports. Material items gain their life-cycle columns.

ALTER TABLE material_items ADD COLUMN status TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE material_items ADD COLUMN received_on TEXT;
ALTER TABLE material_items ADD COLUMN supplement_id INTEGER;
ALTER TABLE material_items ADD COLUMN volume_id INTEGER;

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    post TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    title TEXT NOT NULL,
    opened_on TEXT NOT NULL,
    due_on TEXT,
    state TEXT NOT NULL,
    done_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX tasks_post_state_idx ON tasks (post, state, due_on);
CREATE INDEX tasks_subject_idx ON tasks (subject_kind, subject_id);

CREATE TABLE handovers (
    id INTEGER PRIMARY KEY,
    state TEXT NOT NULL,
    note TEXT,
    created_by TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    confirmed_by TEXT,
    confirmed_by_name TEXT,
    confirmed_at TEXT
);

CREATE TABLE handover_items (
    id INTEGER PRIMARY KEY,
    handover_id INTEGER NOT NULL REFERENCES handovers (id),
    material_id INTEGER REFERENCES material_items (id),
    name TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    formation_date TEXT,
    person_id INTEGER REFERENCES persons (id),
    event_id INTEGER REFERENCES business_events (id),
    result TEXT,
    note TEXT
);
CREATE INDEX handover_items_handover_idx ON handover_items (handover_id);
CREATE INDEX handover_items_material_idx ON handover_items (material_id);

CREATE TABLE supplements (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES business_events (id),
    material_code TEXT NOT NULL,
    material_name TEXT NOT NULL,
    requested_on TEXT NOT NULL,
    due_on TEXT,
    state TEXT NOT NULL,
    contacts TEXT NOT NULL DEFAULT '',
    fulfilled_by INTEGER REFERENCES material_items (id),
    closed_on TEXT,
    explanation TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX supplements_event_idx ON supplements (event_id);

CREATE TABLE volumes (
    id INTEGER PRIMARY KEY,
    year INTEGER NOT NULL,
    business_class TEXT NOT NULL,
    position INTEGER NOT NULL,
    state TEXT NOT NULL,
    archive_number TEXT,
    pages INTEGER NOT NULL,
    thickness_um INTEGER NOT NULL,
    note TEXT,
    created_at TEXT NOT NULL,
    sealed_at TEXT,
    sealed_by TEXT,
    CONSTRAINT volumes_archive_number_key UNIQUE (archive_number)
);
CREATE INDEX volumes_group_idx ON volumes (year, business_class, state);

CREATE TABLE volume_items (
    volume_id INTEGER NOT NULL REFERENCES volumes (id),
    material_id INTEGER NOT NULL REFERENCES material_items (id),
    seq INTEGER NOT NULL,
    PRIMARY KEY (volume_id, seq),
    CONSTRAINT volume_items_material_id_key UNIQUE (material_id)
);

CREATE TABLE corrections (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons (id),
    field TEXT NOT NULL,
    old_value TEXT NOT NULL,
    new_value TEXT NOT NULL,
    proof_material_id INTEGER NOT NULL REFERENCES material_items (id),
    basis TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX corrections_person_idx ON corrections (person_id);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    person_id INTEGER NOT NULL REFERENCES persons (id),
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    delivered_at TEXT
);

CREATE TABLE damage_reports (
    id INTEGER PRIMARY KEY,
    material_id INTEGER NOT NULL REFERENCES material_items (id),
    degree TEXT NOT NULL,
    cause TEXT NOT NULL,
    repair_by TEXT NOT NULL,
    institution TEXT,
    result TEXT,
    repaired_on TEXT,
    reported_by TEXT NOT NULL,
    reported_at TEXT NOT NULL
);

CREATE TABLE loss_reports (
    id INTEGER PRIMARY KEY,
    material_id INTEGER NOT NULL REFERENCES material_items (id),
    reported_to TEXT NOT NULL,
    note TEXT,
    searched_handovers BOOLEAN NOT NULL DEFAULT FALSE,
    contacted_person BOOLEAN NOT NULL DEFAULT FALSE,
    recollected BOOLEAN NOT NULL DEFAULT FALSE,
    reported_by TEXT NOT NULL,
    reported_at TEXT NOT NULL
);
