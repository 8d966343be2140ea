-- The reauthenticate plugin's tables: codes, their failure counters, send limits and the delivery outbox.
-- Rows about a user are erased through the plugin's user-data hook when the user is deleted, not by a
-- foreign key into the host's tables. Time is Unix epoch seconds (BIGINT).

-- Reauthentication codes: only HMAC-SHA256(pepper, user id, purpose, code) is kept.
CREATE TABLE verification_codes (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    session_id  TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    channel     TEXT NOT NULL,                 -- email | sms
    code_hash   TEXT NOT NULL,
    device_id   TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    state       TEXT NOT NULL DEFAULT 'live'   -- live | used | burned | replaced
);
CREATE INDEX verification_codes_live ON verification_codes(user_id, purpose, state);

-- Consecutive failed verifications per account, across codes, and the lock they lead to.
CREATE TABLE verification_failures (
    user_id       TEXT PRIMARY KEY,
    consecutive   BIGINT NOT NULL DEFAULT 0,
    locked_until  BIGINT NOT NULL DEFAULT 0
);

-- One row per accepted send request; send limits count rows in their window.
CREATE TABLE send_events (
    id                BIGSERIAL PRIMARY KEY,
    user_id           TEXT NOT NULL,
    ip                TEXT NOT NULL,
    destination_hash  TEXT NOT NULL,
    channel           TEXT NOT NULL,
    created_at        BIGINT NOT NULL
);
CREATE INDEX send_events_user ON send_events(user_id, created_at);
CREATE INDEX send_events_ip ON send_events(ip, created_at);
CREATE INDEX send_events_destination ON send_events(destination_hash, created_at);
CREATE INDEX send_events_channel ON send_events(channel, created_at);

-- Messages waiting for delivery, written in the same transaction as their code; claimed by any
-- instance's worker with FOR UPDATE SKIP LOCKED and a lease.
CREATE TABLE outbox (
    id                  TEXT PRIMARY KEY,
    code_id             TEXT NOT NULL,
    user_id             TEXT NOT NULL,
    channel             TEXT NOT NULL,
    destination         TEXT NOT NULL,
    destination_masked  TEXT NOT NULL,
    locale              TEXT NOT NULL,
    payload             TEXT,
    status              TEXT NOT NULL,         -- pending | sending | delivered | expired | failed | cancelled
    attempts            BIGINT NOT NULL DEFAULT 0,
    next_attempt_at     BIGINT NOT NULL,
    lease_until         BIGINT NOT NULL DEFAULT 0,
    expires_at          BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    last_error          TEXT NOT NULL DEFAULT '',
    report              TEXT NOT NULL DEFAULT '',
    reported_at         BIGINT
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
