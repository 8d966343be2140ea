-- The host's tables: users, sessions, and the password failures that lock sign-in. Plugins keep their
-- own tables, created by their own migrations (a database made before SDK 3.0 has the reauthenticate
-- plugin's tables from this migration; that plugin's first migration adopts them).
-- Time is stored as Unix epoch seconds (INTEGER) so that the same statements serve SQLite and PostgreSQL.

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    username       TEXT UNIQUE,
    email          TEXT UNIQUE,
    phone_number   TEXT UNIQUE,
    password_hash  TEXT NOT NULL,
    locale         TEXT NOT NULL DEFAULT 'en',
    status         TEXT NOT NULL DEFAULT 'active',   -- active | disabled
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

-- Consecutive wrong passwords and the lock they lead to, per subject: `user:<id>` for an account
-- (sign-in, sudo, old_password), `login:<sha256 of the login>` for a sign-in name that has no account,
-- so that unknown names lock exactly like known ones and the lock tells nothing about who exists.
CREATE TABLE password_failures (
    subject       TEXT PRIMARY KEY,
    consecutive   INTEGER NOT NULL DEFAULT 0,
    locked_until  INTEGER NOT NULL DEFAULT 0
);

-- One row per sign-in. Access tokens carry the session id (sid); revoking the session revokes them.
-- The refresh token is opaque; only its SHA-256 is stored, with the one it replaced: presenting that
-- one again means it leaked, and ends the session.
CREATE TABLE sessions (
    id                     TEXT PRIMARY KEY,
    user_id                TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    refresh_hash           TEXT NOT NULL UNIQUE,
    previous_refresh_hash  TEXT,
    refresh_expires_at  INTEGER NOT NULL,
    client_id           TEXT NOT NULL,
    device_id           TEXT NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    revoked_at          INTEGER
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_previous_refresh ON sessions(previous_refresh_hash);
