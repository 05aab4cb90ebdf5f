-- 工作人员协助确认 (S8.2): a kiosk session a window clerk opened after checking the identity
-- card, without the person's password (and without needing an online account).
ALTER TABLE insured_sessions ADD COLUMN assisted BOOLEAN NOT NULL DEFAULT FALSE;
