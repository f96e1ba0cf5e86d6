-- The phone's store: one device's replica, clock, outbox and sync state.

-- Who this device is. One row, written at sign-in.
CREATE TABLE device (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    server_url TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    email TEXT NOT NULL,
    device_id TEXT NOT NULL,
    -- The next device_seq to give a local op: 1, 2, 3, ... dense, never reused.
    next_seq BIGINT NOT NULL,
    -- The largest HLC issued or observed, so the clock never goes back after a restart.
    last_hlc TEXT,
    -- Added to the wall clock after the server said this device's clock runs ahead.
    clock_offset_ms BIGINT NOT NULL DEFAULT 0
);

-- The session. One row; deleted at sign-out.
CREATE TABLE credentials (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    access_token TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    access_expires_ms BIGINT NOT NULL
);

-- Where the last pull ended and when the last sync finished. One row.
CREATE TABLE sync_state (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    cursor TEXT,
    last_sync_ms BIGINT,
    last_error TEXT
);

-- The replica: the current last-writer-wins register of every field this device knows.
CREATE TABLE fields (
    patient TEXT NOT NULL,
    kind TEXT NOT NULL,
    doc TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    hlc TEXT NOT NULL,
    op TEXT NOT NULL,
    PRIMARY KEY (patient, kind, doc, field)
);

-- Ops written here that the server has not acknowledged yet, in device_seq order.
CREATE TABLE outbox (
    device_seq BIGINT PRIMARY KEY NOT NULL,
    op_id TEXT NOT NULL UNIQUE,
    op TEXT NOT NULL
);

-- Ops the server refused for good (a retry would not change the answer), kept to show the user.
CREATE TABLE rejected (
    device_seq BIGINT PRIMARY KEY NOT NULL,
    op_id TEXT NOT NULL,
    op TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL
);
