-- Users, sessions, reauthentication codes, send limits and the delivery outbox.
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

-- Reauthentication codes: only HMAC-SHA256(pepper, user id, purpose, code) is kept.
CREATE TABLE verification_codes (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_id  TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    channel     TEXT NOT NULL,                 -- email | sms
    code_hash   TEXT NOT NULL,
    device_id   TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    state       TEXT NOT NULL DEFAULT 'live'   -- live | used | burned | replaced
);
CREATE INDEX verification_codes_live ON verification_codes(user_id, purpose, state);

-- Consecutive failed verifications per account, across codes, and the lock they lead to.
CREATE TABLE verification_failures (
    user_id       TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    consecutive   INTEGER NOT NULL DEFAULT 0,
    locked_until  INTEGER NOT NULL DEFAULT 0
);

-- One row per accepted send request; send limits count rows in their window.
CREATE TABLE send_events (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id           TEXT NOT NULL,
    ip                TEXT NOT NULL,
    destination_hash  TEXT NOT NULL,
    channel           TEXT NOT NULL,
    created_at        INTEGER NOT NULL
);
CREATE INDEX send_events_user ON send_events(user_id, created_at);
CREATE INDEX send_events_ip ON send_events(ip, created_at);
CREATE INDEX send_events_destination ON send_events(destination_hash, created_at);
CREATE INDEX send_events_channel ON send_events(channel, created_at);

-- Messages waiting for delivery, written in the same transaction as their code. `payload` holds the
-- code sealed with AES-256-GCM; it and the full destination are cleared once the message is delivered,
-- expired, failed or cancelled (the masked destination stays for the record).
CREATE TABLE outbox (
    id                  TEXT PRIMARY KEY,
    code_id             TEXT NOT NULL,
    user_id             TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channel             TEXT NOT NULL,
    destination         TEXT NOT NULL,
    destination_masked  TEXT NOT NULL,
    locale              TEXT NOT NULL,
    payload             TEXT,
    status              TEXT NOT NULL,         -- pending | sending | delivered | expired | failed | cancelled
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     INTEGER NOT NULL,
    lease_until         INTEGER NOT NULL DEFAULT 0,
    expires_at          INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    last_error          TEXT NOT NULL DEFAULT '',
    report              TEXT NOT NULL DEFAULT '',  -- the provider's delivery report: delivered | failed | …
    reported_at         INTEGER
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
