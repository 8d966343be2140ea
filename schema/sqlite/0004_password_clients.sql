-- Password guessing is counted per sign-in name and client address (and per account, over all of them),
-- and each lock of a count lasts twice the one before: `locks` is how many it has had. The clients an
-- account has signed in from are known: they go on signing in while the account is locked for others.
ALTER TABLE password_failures ADD COLUMN locks INTEGER NOT NULL DEFAULT 0;

CREATE TABLE known_clients (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client     TEXT NOT NULL,   -- SHA-256 (hex) of the client's address; an IPv6 address by its /64
    last_seen  INTEGER NOT NULL,
    PRIMARY KEY (user_id, client)
);
CREATE INDEX known_clients_last_seen ON known_clients(last_seen);

-- Sign-in names were counted without their client: those counts are never consulted again.
DELETE FROM password_failures WHERE subject LIKE 'login:%';
