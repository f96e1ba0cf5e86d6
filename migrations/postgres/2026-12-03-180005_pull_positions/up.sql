-- Where each device has read each patient's change stream, kept on the server, so that the pull
-- cursor a phone carries is a small token (`v2.<epoch>`) whatever the caseload: it named one
-- position per readable patient before, and a counselor with ~1,800 patients got a URL too long
-- to send. Keyed by the device of the access token.
--
-- `acked` is the epoch of the positions the device has acknowledged, `pending` the epoch of the
-- page sent last and not yet acknowledged (NULL: none), `issued` the last epoch ever handed out
-- to the device: every change of the row takes a new one, so a token is never reused and two
-- pulls of one device at once cannot both win (the second finds `issued` moved and reads again).
CREATE TABLE pull_cursors (
    device_id  TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    acked      BIGINT NOT NULL,
    pending    BIGINT,
    issued     BIGINT NOT NULL
);

-- One row per (device, patient) read so far: `seq`, the acknowledged position in the patient's
-- stream (0: nothing acknowledged yet), and `pending`, how far the unacknowledged page read
-- (NULL when that page did not advance this patient). Keyed with the patient, as every table
-- that grows with patients is.
CREATE TABLE pull_positions (
    device_id   TEXT COLLATE "C" NOT NULL,
    patient_id  TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL,
    pending     BIGINT,
    PRIMARY KEY (device_id, patient_id)
);
