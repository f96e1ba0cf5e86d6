ALTER TABLE sessions ADD CONSTRAINT sessions_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES users (id);
ALTER TABLE exercises ADD CONSTRAINT exercises_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES users (id);
ALTER TABLE checkins ADD CONSTRAINT checkins_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES users (id);
ALTER TABLE field_state ADD CONSTRAINT field_state_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES users (id);
ALTER TABLE ops ADD CONSTRAINT ops_device_id_fkey FOREIGN KEY (device_id) REFERENCES devices (id);
ALTER TABLE ops ADD CONSTRAINT ops_author_id_fkey FOREIGN KEY (author_id) REFERENCES users (id);
ALTER TABLE ops ADD CONSTRAINT ops_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES users (id);
