DROP TABLE track_enrollments;
DROP TABLE tracks;
