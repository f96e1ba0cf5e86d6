DROP INDEX exercises_patient_day;
DROP INDEX checkins_patient_day;
