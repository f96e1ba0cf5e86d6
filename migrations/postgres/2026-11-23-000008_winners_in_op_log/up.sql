-- The merged field state moves into the op log: an op that is its field's current winner
-- carries the patient-stream number of that change in `seq`; every other op (superseded, or
-- never the winner) has NULL. A push then writes each op once instead of once in the log and
-- again, with the same columns, in a table of winners: on SQLite that table's row and its two
-- indexes were a fifth of the write lock's time, on PostgreSQL a second COPY per push.
-- The log's content is still never changed: only the marker moves when a newer op wins.
ALTER TABLE ops ADD COLUMN seq BIGINT;
UPDATE ops SET seq = field_state.seq FROM field_state WHERE field_state.op_id = ops.id;

-- What pulls page through, per patient by stream number, and what a merge reads, per field.
CREATE UNIQUE INDEX ops_stream ON ops (patient_id, seq) WHERE seq IS NOT NULL;
CREATE UNIQUE INDEX ops_winner ON ops (patient_id, kind, doc_id, field) WHERE seq IS NOT NULL;

DROP TABLE field_state;

-- The winning value of every field, as before: what a new phone bootstraps from, what pulls
-- page through by `seq`, and what trends read the trigger sets from.
CREATE VIEW field_state AS
SELECT patient_id, kind, doc_id, field, value, hlc, id AS op_id, device_id, seq
FROM ops WHERE seq IS NOT NULL;
