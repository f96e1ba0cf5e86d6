-- An email is unique within a clinic, not across clinics (issue 18, defect 10a): whether an
-- address has an account at another clinic is itself a disclosure in addiction treatment, so
-- enrolling it elsewhere must look exactly like enrolling a new address. Sign-in finds the
-- account among those with the email by its password (see api/src/auth/password.rs).
ALTER TABLE users DROP CONSTRAINT users_email_key;
ALTER TABLE users ADD CONSTRAINT users_clinic_email_key UNIQUE (clinic_id, email);
CREATE INDEX users_email ON users (email);
