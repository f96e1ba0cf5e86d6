-- Browser sessions of the counselor dashboard. Servers keep no state in memory, so a session
-- lives here: only the SHA-256 of its cookie token is stored (a database leak hands out no
-- usable session), with the last request's time for the idle logoff. Writes made from the
-- dashboard are authored from the session's own device, so the op log says which browser
-- session made them.
CREATE TABLE dashboard_sessions (
    token_hash    TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id),
    device_id     TEXT NOT NULL REFERENCES devices (id),
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    ended_at      BIGINT
);
CREATE INDEX dashboard_sessions_user ON dashboard_sessions (user_id);
