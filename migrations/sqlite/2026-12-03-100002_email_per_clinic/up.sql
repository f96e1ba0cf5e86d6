-- An email is unique within a clinic, not across clinics (issue 18, defect 10a): whether an
-- address has an account at another clinic is itself a disclosure in addiction treatment, so
-- enrolling it elsewhere must look exactly like enrolling a new address. Sign-in finds the
-- account among those with the email by its password (see api/src/auth/password.rs).
-- SQLite cannot drop a column's UNIQUE constraint, so `users` is rebuilt (the documented
-- twelve-step procedure: foreign keys off, copy, drop, rename, check).
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE users_rebuilt (
    id             TEXT PRIMARY KEY NOT NULL,
    clinic_id      TEXT NOT NULL REFERENCES clinics (id),
    role           TEXT NOT NULL CHECK (role IN ('admin', 'counselor', 'patient')),
    email          TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    -- NULL until a patient activates their enrollment code.
    password_hash  TEXT,
    created_at     BIGINT NOT NULL,
    activated_at   BIGINT,
    UNIQUE (clinic_id, email)
);
INSERT INTO users_rebuilt (id, clinic_id, role, email, display_name, password_hash, created_at, activated_at)
SELECT id, clinic_id, role, email, display_name, password_hash, created_at, activated_at FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;
CREATE INDEX users_clinic_role ON users (clinic_id, role);
CREATE INDEX users_email ON users (email);
PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;
