-- The keys back under the database's own collation.
DROP VIEW field_state;

ALTER TABLE ops
    ALTER COLUMN id TYPE TEXT COLLATE "default",
    ALTER COLUMN patient_id TYPE TEXT COLLATE "default",
    ALTER COLUMN kind TYPE TEXT COLLATE "default",
    ALTER COLUMN doc_id TYPE TEXT COLLATE "default",
    ALTER COLUMN field TYPE TEXT COLLATE "default",
    ALTER COLUMN device_id TYPE TEXT COLLATE "default";

DROP INDEX ops_winner;
CREATE UNIQUE INDEX ops_winner ON ops (patient_id, kind, doc_id, field) WHERE seq IS NOT NULL;

CREATE VIEW field_state AS
SELECT patient_id, kind, doc_id, field, value, hlc, id AS op_id, device_id, seq
FROM ops WHERE seq IS NOT NULL;

ALTER TABLE checkins
    ALTER COLUMN patient_id TYPE TEXT COLLATE "default",
    ALTER COLUMN doc_id TYPE TEXT COLLATE "default";
ALTER TABLE exercises
    ALTER COLUMN patient_id TYPE TEXT COLLATE "default",
    ALTER COLUMN doc_id TYPE TEXT COLLATE "default";
ALTER TABLE sessions
    ALTER COLUMN patient_id TYPE TEXT COLLATE "default",
    ALTER COLUMN doc_id TYPE TEXT COLLATE "default";
