-- Consent (42 CFR Part 2): staff see a patient's records only while the patient's consent is
-- active AND they are on the patient's care team. A consent names either one counselor or the
-- patient's whole care team, has a purpose, and may expire; revoking it cuts access at once.
CREATE TABLE consents (
    id            TEXT PRIMARY KEY NOT NULL,
    patient_id    TEXT NOT NULL REFERENCES users (id),
    grantee       TEXT NOT NULL CHECK (grantee IN ('care_team', 'counselor')),
    counselor_id  TEXT REFERENCES users (id),
    purpose       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT,
    revoked_at    BIGINT,
    CHECK ((grantee = 'counselor') = (counselor_id IS NOT NULL))
);
CREATE INDEX consents_patient ON consents (patient_id);

-- Every read of a patient's records by staff: who, when, what, under which consent. The patient
-- reads it. Never updated, never deleted.
CREATE TABLE access_log (
    id           TEXT PRIMARY KEY NOT NULL,
    patient_id   TEXT NOT NULL REFERENCES users (id),
    actor_id     TEXT NOT NULL REFERENCES users (id),
    actor_role   TEXT NOT NULL,
    action       TEXT NOT NULL,
    consent_id   TEXT NOT NULL REFERENCES consents (id),
    at           BIGINT NOT NULL
);
CREATE INDEX access_log_patient_time ON access_log (patient_id, at);
