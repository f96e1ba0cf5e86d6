-- Trends read a window of local days; these let them start from the window instead of from all
-- of a patient's history.
CREATE INDEX checkins_patient_day ON checkins (patient_id, local_day);
CREATE INDEX exercises_patient_day ON exercises (patient_id, local_day);
