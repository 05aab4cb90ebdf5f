-- Issue 19: the equipment register of the archive rooms (S3.1). Every item (密集架, 除湿机,
-- 温湿度记录仪, 防火保险箱, 灭火器, 监控摄像头, 烟雾报警器) with its room, model, serial number,
-- installation date and inspection interval in months; when it was last inspected and when it is
-- next due (a 设备检查 task of the custody post is open for that date); retired items stay in the
-- register. Every inspection with its result (正常/异常, 异常 with a note).
CREATE TABLE equipment (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room_id BIGINT NOT NULL REFERENCES rooms (id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    model TEXT,
    serial_no TEXT,
    installed_on DATE NOT NULL,
    interval_months BIGINT NOT NULL,
    last_inspected_on DATE,
    next_due_on DATE NOT NULL,
    state TEXT NOT NULL,
    retired_on DATE,
    retire_reason TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX equipment_room_idx ON equipment (room_id, kind, state);

CREATE TABLE equipment_inspections (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    equipment_id BIGINT NOT NULL REFERENCES equipment (id),
    inspected_on DATE NOT NULL,
    result TEXT NOT NULL,
    note TEXT,
    by_user TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX equipment_inspections_idx ON equipment_inspections (equipment_id, inspected_on);
