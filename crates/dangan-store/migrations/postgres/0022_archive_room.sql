-- Issue 19: the paper archive room (库房). Rooms with their area, their separation from the
-- service area and their environment thresholds; a tree of places inside each room (密集架/柜/
-- 防火保险箱 → 列 → 节 → 层 → 位), each storage place with a capacity in millimetres of volume
-- thickness; archive boxes (档案盒) that stand on a place and hold volumes; where every sealed
-- volume is now and every move it made; and stocktakes (盘点) with what was expected and found.
CREATE TABLE rooms (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    -- Floor area in square decimetres (1 m² = 100 dm²), so no float is stored.
    area_dm2 BIGINT NOT NULL,
    -- 与办公、服务区分开 (S3.1).
    separate_from_service BOOLEAN NOT NULL,
    -- Thresholds in tenths of a degree and of a per cent (14–24 ℃, 45–60 % by default).
    temp_min_dc BIGINT NOT NULL,
    temp_max_dc BIGINT NOT NULL,
    rh_min_pm BIGINT NOT NULL,
    rh_max_pm BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT rooms_code_key UNIQUE (code)
);

CREATE TABLE places (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room_id BIGINT NOT NULL REFERENCES rooms (id),
    parent_id BIGINT REFERENCES places (id),
    kind TEXT NOT NULL,
    -- The full code printed on the label and typed by a barcode scanner: K01-A-03-2-4.
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    -- Storage places hold volumes: their shelf length in millimetres. NULL for a place that
    -- only holds other places.
    capacity_mm BIGINT,
    -- 防火 — a fire safe or inside one: the only places for designated important records.
    fire_safe BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT places_code_key UNIQUE (code)
);
CREATE INDEX places_room_idx ON places (room_id, parent_id);

-- A box's label code is derived from its id (B00000012), as a volume's is (V00000123).
CREATE TABLE archive_boxes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Inside width (what volumes may fill) and outside width (what it takes on the shelf), mm.
    inner_mm BIGINT NOT NULL,
    outer_mm BIGINT NOT NULL,
    place_id BIGINT REFERENCES places (id),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX archive_boxes_place_idx ON archive_boxes (place_id);

-- 重要档案 — a volume designated for the fire safe (e.g. 原始参保登记册).
ALTER TABLE volumes ADD COLUMN fire_safe_required BOOLEAN NOT NULL DEFAULT FALSE;

-- Where a volume is now: on a place (or in a box there), or out of the room (出库) for a reason.
CREATE TABLE volume_locations (
    volume_id BIGINT PRIMARY KEY REFERENCES volumes (id),
    place_id BIGINT REFERENCES places (id),
    box_id BIGINT REFERENCES archive_boxes (id),
    state TEXT NOT NULL,
    out_reason TEXT,
    since TIMESTAMPTZ NOT NULL,
    by_user TEXT NOT NULL
);
CREATE INDEX volume_locations_place_idx ON volume_locations (place_id);
CREATE INDEX volume_locations_box_idx ON volume_locations (box_id);

-- Every placement, move, removal and return of a volume (and every move of a box).
CREATE TABLE location_moves (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    volume_id BIGINT REFERENCES volumes (id),
    box_id BIGINT REFERENCES archive_boxes (id),
    kind TEXT NOT NULL,
    from_place_id BIGINT REFERENCES places (id),
    from_box_id BIGINT REFERENCES archive_boxes (id),
    to_place_id BIGINT REFERENCES places (id),
    to_box_id BIGINT REFERENCES archive_boxes (id),
    reason TEXT,
    at TIMESTAMPTZ NOT NULL,
    by_user TEXT NOT NULL
);
CREATE INDEX location_moves_volume_idx ON location_moves (volume_id, id);

CREATE TABLE stocktakes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room_id BIGINT NOT NULL REFERENCES rooms (id),
    -- A shelving unit, or the whole room when NULL.
    place_id BIGINT REFERENCES places (id),
    state TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    started_by TEXT NOT NULL,
    closed_at TIMESTAMPTZ,
    closed_by TEXT
);

-- What the register said when the stocktake started: each volume and its place.
CREATE TABLE stocktake_expected (
    stocktake_id BIGINT NOT NULL REFERENCES stocktakes (id),
    volume_id BIGINT NOT NULL REFERENCES volumes (id),
    place_id BIGINT NOT NULL REFERENCES places (id),
    PRIMARY KEY (stocktake_id, volume_id)
);

-- Each scan: the code as read, the place it was read at, and the volume it names (if any).
CREATE TABLE stocktake_scans (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stocktake_id BIGINT NOT NULL REFERENCES stocktakes (id),
    scanned_code TEXT NOT NULL,
    volume_id BIGINT REFERENCES volumes (id),
    place_id BIGINT NOT NULL REFERENCES places (id),
    at TIMESTAMPTZ NOT NULL,
    by_user TEXT NOT NULL
);
CREATE INDEX stocktake_scans_idx ON stocktake_scans (stocktake_id, volume_id);
