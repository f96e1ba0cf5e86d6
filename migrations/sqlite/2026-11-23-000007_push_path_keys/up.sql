-- The tables a push writes for every op or document hold no foreign keys: the push path is
-- their only writer, and every reference it writes is checked before it writes it (author and
-- device come from the verified token, the patient from the caller's standing, which exists
-- only for a registered patient), and users and devices are never deleted. Checking each key
-- on every inserted row cost more than the row itself on PostgreSQL; SQLite cannot drop a
-- constraint, so each table is rebuilt without its REFERENCES clauses, rows and indexes kept.

CREATE TABLE ops_rebuilt (
    id           TEXT PRIMARY KEY NOT NULL,
    patient_id   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    doc_id       TEXT NOT NULL,
    field        TEXT NOT NULL,
    value        TEXT NOT NULL,
    hlc          TEXT NOT NULL,
    device_seq   BIGINT NOT NULL,
    author_id    TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    received_at  BIGINT NOT NULL
);
INSERT INTO ops_rebuilt SELECT * FROM ops;
DROP TABLE ops;
ALTER TABLE ops_rebuilt RENAME TO ops;
CREATE UNIQUE INDEX ops_device_seq ON ops (device_id, device_seq);
CREATE INDEX ops_patient_doc ON ops (patient_id, doc_id);

CREATE TABLE field_state_rebuilt (
    patient_id  TEXT NOT NULL,
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
INSERT INTO field_state_rebuilt SELECT * FROM field_state;
DROP TABLE field_state;
ALTER TABLE field_state_rebuilt RENAME TO field_state;
CREATE UNIQUE INDEX field_state_stream ON field_state (patient_id, seq);

CREATE TABLE checkins_rebuilt (
    patient_id     TEXT NOT NULL,
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
INSERT INTO checkins_rebuilt SELECT * FROM checkins;
DROP TABLE checkins;
ALTER TABLE checkins_rebuilt RENAME TO checkins;
CREATE INDEX checkins_patient_time ON checkins (patient_id, recorded_at);
CREATE INDEX checkins_patient_day ON checkins (patient_id, local_day);

CREATE TABLE exercises_rebuilt (
    patient_id      TEXT NOT NULL,
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
INSERT INTO exercises_rebuilt SELECT * FROM exercises;
DROP TABLE exercises;
ALTER TABLE exercises_rebuilt RENAME TO exercises;
CREATE INDEX exercises_patient_time ON exercises (patient_id, started_at);
CREATE INDEX exercises_patient_day ON exercises (patient_id, local_day);

CREATE TABLE sessions_rebuilt (
    patient_id      TEXT NOT NULL,
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
INSERT INTO sessions_rebuilt SELECT * FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_rebuilt RENAME TO sessions;
CREATE INDEX sessions_patient_time ON sessions (patient_id, starts_at);
