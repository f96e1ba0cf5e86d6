DROP TABLE rate_limits;
DROP TABLE enrollment_codes;
DROP TABLE care_team;
DROP TABLE refresh_tokens;
DROP TABLE devices;
DROP TABLE users;
DROP TABLE clinics;
