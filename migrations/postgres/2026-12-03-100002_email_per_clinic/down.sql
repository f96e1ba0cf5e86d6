-- Back to one account per email across every clinic (fails if two clinics share one).
DROP INDEX users_email;
ALTER TABLE users DROP CONSTRAINT users_clinic_email_key;
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
