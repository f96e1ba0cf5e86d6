-- The op log's and the read models' text keys compare as bytes (collation "C") instead of by the
-- database's locale. Every key is an id (UUID text), a document kind or a field name, compared
-- only for equality and for the order of an index, never shown sorted to a person; for such keys
-- a locale buys nothing, and on PostgreSQL every comparison under one went through the locale
-- machinery (`varstr_cmp`, `strcoll`): with five indexes on the log, index insertion was over
-- half of a push's time inside PostgreSQL and key comparison a third of that. In byte order a
-- comparison is one `memcmp`. For ASCII text, as every id is, the order is the same as under
-- C.UTF-8; indexes are rebuilt, rows are not rewritten.
DROP VIEW field_state;

ALTER TABLE ops
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN patient_id TYPE TEXT COLLATE "C",
    ALTER COLUMN kind TYPE TEXT COLLATE "C",
    ALTER COLUMN doc_id TYPE TEXT COLLATE "C",
    ALTER COLUMN field TYPE TEXT COLLATE "C",
    ALTER COLUMN device_id TYPE TEXT COLLATE "C";

-- The winners' key leads with the document: every winner of a patient has the same patient id
-- and nearly all the same kind, so with those first each comparison inside the index went
-- through three columns before the document decided it. The merge's lookup (document, patient
-- and kind equal) still bounds the index on its first three columns, so the planner keeps
-- preferring it to `ops_patient_doc`, which would read every op a document ever had (with the
-- field first it did not, and pushes slowed with history); a check-in's `triggers/` prefix is a
-- range of the fourth, in byte order.
DROP INDEX ops_winner;
CREATE UNIQUE INDEX ops_winner ON ops (doc_id, patient_id, kind, field) WHERE seq IS NOT NULL;

CREATE VIEW field_state AS
SELECT patient_id, kind, doc_id, field, value, hlc, id AS op_id, device_id, seq
FROM ops WHERE seq IS NOT NULL;

ALTER TABLE checkins
    ALTER COLUMN patient_id TYPE TEXT COLLATE "C",
    ALTER COLUMN doc_id TYPE TEXT COLLATE "C";
ALTER TABLE exercises
    ALTER COLUMN patient_id TYPE TEXT COLLATE "C",
    ALTER COLUMN doc_id TYPE TEXT COLLATE "C";
ALTER TABLE sessions
    ALTER COLUMN patient_id TYPE TEXT COLLATE "C",
    ALTER COLUMN doc_id TYPE TEXT COLLATE "C";
