-- The host's tables: users, sessions, and the password failures that lock sign-in. Plugins keep their
-- own tables, created by their own migrations. Time is Unix epoch seconds (BIGINT), as on SQLite.

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    username       TEXT UNIQUE,
    email          TEXT UNIQUE,
    phone_number   TEXT UNIQUE,
    password_hash  TEXT NOT NULL,
    locale         TEXT NOT NULL DEFAULT 'en',
    status         TEXT NOT NULL DEFAULT 'active',   -- active | disabled
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

-- Consecutive wrong passwords and the lock they lead to, per subject: `user:<id>` for an account,
-- `login:<sha256 of the login>` for a sign-in name that has no account.
CREATE TABLE password_failures (
    subject       TEXT PRIMARY KEY,
    consecutive   BIGINT NOT NULL DEFAULT 0,
    locked_until  BIGINT NOT NULL DEFAULT 0
);

-- One row per sign-in; only the SHA-256 of the refresh token is stored, with the one it replaced.
CREATE TABLE sessions (
    id                     TEXT PRIMARY KEY,
    user_id                TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    refresh_hash           TEXT NOT NULL UNIQUE,
    previous_refresh_hash  TEXT,
    refresh_expires_at     BIGINT NOT NULL,
    client_id              TEXT NOT NULL,
    device_id              TEXT NOT NULL DEFAULT '',
    created_at             BIGINT NOT NULL,
    revoked_at             BIGINT
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_previous_refresh ON sessions(previous_refresh_hash);
