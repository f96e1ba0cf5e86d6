-- One row per session: one sign-in (or activation) on one device, continued by every refresh of
-- its refresh-token family (the row's id is the family id). Access tokens name it in their `sid`
-- claim, and every authenticated request reads this row by primary key, so signing out, a
-- detected refresh-token reuse or the session's absolute lifetime end its access tokens on the
-- next request, on every server. (Account deactivation will end sessions through it too.)
CREATE TABLE auth_sessions (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    device_id   TEXT NOT NULL REFERENCES devices (id),
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_id);
CREATE INDEX auth_sessions_device ON auth_sessions (device_id);

-- Existing families become sessions; one with no usable token left is already over. A session
-- that predates this table starts its absolute lifetime now: ending every sign-in older than
-- TETHER_SESSION_MAX_AGE_SECS at the upgrade would sign phones out without warning.
INSERT INTO auth_sessions (id, user_id, device_id, created_at, revoked_at)
SELECT family_id, MIN(user_id), MIN(device_id), (EXTRACT(EPOCH FROM now()) * 1000)::BIGINT,
       CASE WHEN SUM(CASE WHEN used_at IS NULL AND revoked_at IS NULL THEN 1 ELSE 0 END) = 0
            THEN COALESCE(MAX(revoked_at), MAX(created_at)) END
FROM refresh_tokens
GROUP BY family_id;
