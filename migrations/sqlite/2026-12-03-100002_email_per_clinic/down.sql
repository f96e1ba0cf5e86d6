-- Back to one account per email across every clinic (fails if two clinics share one).
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE users_rebuilt (
    id             TEXT PRIMARY KEY NOT NULL,
    clinic_id      TEXT NOT NULL REFERENCES clinics (id),
    role           TEXT NOT NULL CHECK (role IN ('admin', 'counselor', 'patient')),
    email          TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    -- NULL until a patient activates their enrollment code.
    password_hash  TEXT,
    created_at     BIGINT NOT NULL,
    activated_at   BIGINT
);
INSERT INTO users_rebuilt (id, clinic_id, role, email, display_name, password_hash, created_at, activated_at)
SELECT id, clinic_id, role, email, display_name, password_hash, created_at, activated_at FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;
CREATE INDEX users_clinic_role ON users (clinic_id, role);
PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;
