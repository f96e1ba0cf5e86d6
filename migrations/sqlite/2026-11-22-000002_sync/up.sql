-- Sync: the op log (audit trail), the merged field state that pulls read, per-patient change
-- streams, per-device receipts, and typed read models kept up to date by the merge.

-- One change stream per patient. `head` is the last sequence number handed out. Pushes lock the
-- row (PostgreSQL: SELECT … FOR UPDATE; SQLite: BEGIN IMMEDIATE) so a patient's sequence numbers
-- become visible in the order they were assigned: a pull can never skip a change that commits
-- later with a smaller number.
CREATE TABLE patient_streams (
    patient_id  TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    head        BIGINT NOT NULL
);

-- Every accepted op, as received: who changed what and when. Never updated, never deleted.
CREATE TABLE ops (
    id           TEXT PRIMARY KEY NOT NULL,
    patient_id   TEXT NOT NULL REFERENCES users (id),
    kind         TEXT NOT NULL,
    doc_id       TEXT NOT NULL,
    field        TEXT NOT NULL,
    value        TEXT NOT NULL,
    hlc          TEXT NOT NULL,
    device_seq   BIGINT NOT NULL,
    author_id    TEXT NOT NULL REFERENCES users (id),
    device_id    TEXT NOT NULL REFERENCES devices (id),
    received_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX ops_device_seq ON ops (device_id, device_seq);
CREATE INDEX ops_patient_doc ON ops (patient_id, doc_id);

-- The winning value of every field: what a new phone bootstraps from, and what pulls page
-- through by `seq` (the patient-stream number of the field's latest change).
CREATE TABLE field_state (
    patient_id  TEXT NOT NULL REFERENCES users (id),
    kind        TEXT NOT NULL,
    doc_id      TEXT NOT NULL,
    field       TEXT NOT NULL,
    value       TEXT NOT NULL,
    hlc         TEXT NOT NULL,
    op_id       TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    PRIMARY KEY (patient_id, kind, doc_id, field)
);
CREATE UNIQUE INDEX field_state_stream ON field_state (patient_id, seq);

-- Completeness receipts: the highest device_seq below which the server holds every op of the
-- device, and the sequence numbers it holds above that (the gaps are what is missing).
CREATE TABLE device_receipts (
    device_id   TEXT PRIMARY KEY NOT NULL REFERENCES devices (id),
    high_water  BIGINT NOT NULL
);
CREATE TABLE device_pending_seqs (
    device_id  TEXT NOT NULL REFERENCES devices (id),
    seq        BIGINT NOT NULL,
    PRIMARY KEY (device_id, seq)
);

-- Typed read models, rebuilt from field_state for every document a push changes. Local day,
-- hour and weekday are computed at write time from the patient's UTC offset, so trends are a
-- plain GROUP BY on both backends. local_day counts days since 1970-01-01 in local time;
-- local_weekday is 0 = Monday … 6 = Sunday.
CREATE TABLE checkins (
    patient_id     TEXT NOT NULL REFERENCES users (id),
    doc_id         TEXT NOT NULL,
    deleted        BOOLEAN NOT NULL,
    recorded_at    BIGINT,
    tz_offset_min  INTEGER,
    local_day      INTEGER,
    local_hour     INTEGER,
    local_weekday  INTEGER,
    intensity      INTEGER,
    mood           INTEGER,
    lapse          BOOLEAN,
    substance      TEXT,
    context        TEXT,
    crisis         BOOLEAN NOT NULL,
    note           TEXT,
    triggers       TEXT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (patient_id, doc_id)
);
CREATE INDEX checkins_patient_time ON checkins (patient_id, recorded_at);

CREATE TABLE exercises (
    patient_id      TEXT NOT NULL REFERENCES users (id),
    doc_id          TEXT NOT NULL,
    deleted         BOOLEAN NOT NULL,
    skill           TEXT,
    started_at      BIGINT,
    tz_offset_min   INTEGER,
    local_day       INTEGER,
    local_hour      INTEGER,
    duration_min    INTEGER,
    craving_before  INTEGER,
    craving_after   INTEGER,
    helpfulness     INTEGER,
    note            TEXT,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (patient_id, doc_id)
);
CREATE INDEX exercises_patient_time ON exercises (patient_id, started_at);

CREATE TABLE sessions (
    patient_id      TEXT NOT NULL REFERENCES users (id),
    doc_id          TEXT NOT NULL,
    deleted         BOOLEAN NOT NULL,
    kind            TEXT,
    title           TEXT,
    starts_at       BIGINT,
    duration_min    INTEGER,
    location        TEXT,
    telehealth_url  TEXT,
    status          TEXT,
    rsvp            TEXT,
    rsvp_note       TEXT,
    attendance      TEXT,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (patient_id, doc_id)
);
CREATE INDEX sessions_patient_time ON sessions (patient_id, starts_at);
