-- Accounts and authentication. Ids are UUID text; times are BIGINT milliseconds since the Unix
-- epoch (UTC). The PostgreSQL migration of the same name creates the same tables.

CREATE TABLE clinics (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
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
CREATE INDEX users_clinic_role ON users (clinic_id, role);

CREATE TABLE devices (
    id            TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id),
    name          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    revoked_at    BIGINT
);
CREATE INDEX devices_user ON devices (user_id);

-- Opaque refresh tokens, stored as SHA-256 hashes. A family is one sign-in on one device; every
-- rotation adds a row to it. Presenting a row that was already used revokes the whole family.
CREATE TABLE refresh_tokens (
    id          TEXT PRIMARY KEY NOT NULL,
    family_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    device_id   TEXT NOT NULL REFERENCES devices (id),
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE care_team (
    counselor_id  TEXT NOT NULL REFERENCES users (id),
    patient_id    TEXT NOT NULL REFERENCES users (id),
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (counselor_id, patient_id)
);
CREATE INDEX care_team_patient ON care_team (patient_id);

-- One-time enrollment codes, stored as SHA-256 hashes of the normalised code.
CREATE TABLE enrollment_codes (
    id          TEXT PRIMARY KEY NOT NULL,
    patient_id  TEXT NOT NULL REFERENCES users (id),
    code_hash   TEXT NOT NULL UNIQUE,
    created_by  TEXT NOT NULL REFERENCES users (id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX enrollment_codes_patient ON enrollment_codes (patient_id);

-- Fixed-window counters for sign-in and activation attempts, keyed by account or client address.
-- Kept in the database so that every server behind a load balancer shares them.
CREATE TABLE rate_limits (
    bucket        TEXT PRIMARY KEY NOT NULL,
    window_start  BIGINT NOT NULL,
    hits          INTEGER NOT NULL
);
