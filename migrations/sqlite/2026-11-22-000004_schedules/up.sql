-- Schedules: program tracks (a weekly recurrence with step-down changes, in the clinic's time
-- zone) and the patients enrolled in them. The sessions themselves are ordinary session
-- documents, written through the sync push path with deterministic ids.
CREATE TABLE tracks (
    id          TEXT PRIMARY KEY NOT NULL,
    clinic_id   TEXT NOT NULL REFERENCES clinics (id),
    created_by  TEXT NOT NULL REFERENCES users (id),
    name        TEXT NOT NULL,
    time_zone   TEXT NOT NULL,
    population  TEXT NOT NULL CHECK (population IN ('adult', 'adolescent')),
    start_date  TEXT NOT NULL,
    weeks       INTEGER NOT NULL CHECK (weeks BETWEEN 1 AND 52),
    schedule    TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX tracks_clinic ON tracks (clinic_id);

-- Which patient follows which track; the most recent enrollment sets the patient's IOP hours
-- ledger (time zone and weekly minimum).
CREATE TABLE track_enrollments (
    track_id     TEXT NOT NULL REFERENCES tracks (id),
    patient_id   TEXT NOT NULL REFERENCES users (id),
    enrolled_by  TEXT NOT NULL REFERENCES users (id),
    enrolled_at  BIGINT NOT NULL,
    PRIMARY KEY (track_id, patient_id)
);
CREATE INDEX track_enrollments_patient ON track_enrollments (patient_id, enrolled_at);
