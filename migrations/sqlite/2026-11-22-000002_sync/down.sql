DROP TABLE sessions;
DROP TABLE exercises;
DROP TABLE checkins;
DROP TABLE device_pending_seqs;
DROP TABLE device_receipts;
DROP TABLE field_state;
DROP TABLE ops;
DROP TABLE patient_streams;
