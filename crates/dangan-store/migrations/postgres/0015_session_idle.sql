-- Issue 13 §4: sessions end after a time without use, checked on the server. `last_seen_at` is
-- written at most about once a minute per session (NULL: not seen since it was created).
-- `kiosk` marks an insured person's session opened on the self-service machine (/kiosk/login;
-- assisted sessions are kiosk sessions too), whose idle limit is the kiosk's.
ALTER TABLE sessions ADD COLUMN last_seen_at TIMESTAMPTZ;
ALTER TABLE insured_sessions ADD COLUMN last_seen_at TIMESTAMPTZ;
ALTER TABLE insured_sessions ADD COLUMN kiosk BOOLEAN NOT NULL DEFAULT FALSE;
