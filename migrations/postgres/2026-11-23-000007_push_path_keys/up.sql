-- The tables a push writes for every op or document hold no foreign keys: the push path is
-- their only writer, and every reference it writes is checked before it writes it (author and
-- device come from the verified token, the patient from the caller's standing, which exists
-- only for a registered patient), and users and devices are never deleted. PostgreSQL checked
-- each key with a query per inserted row, which cost more than the row itself.
ALTER TABLE ops DROP CONSTRAINT ops_patient_id_fkey;
ALTER TABLE ops DROP CONSTRAINT ops_author_id_fkey;
ALTER TABLE ops DROP CONSTRAINT ops_device_id_fkey;
ALTER TABLE field_state DROP CONSTRAINT field_state_patient_id_fkey;
ALTER TABLE checkins DROP CONSTRAINT checkins_patient_id_fkey;
ALTER TABLE exercises DROP CONSTRAINT exercises_patient_id_fkey;
ALTER TABLE sessions DROP CONSTRAINT sessions_patient_id_fkey;
