-- The winners back in a table of their own.
DROP VIEW field_state;
CREATE TABLE field_state (
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
INSERT INTO field_state
SELECT patient_id, kind, doc_id, field, value, hlc, id, device_id, seq FROM ops WHERE seq IS NOT NULL;
CREATE UNIQUE INDEX field_state_stream ON field_state (patient_id, seq);
DROP INDEX ops_winner;
DROP INDEX ops_stream;
ALTER TABLE ops DROP COLUMN seq;
