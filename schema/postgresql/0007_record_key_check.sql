-- A fingerprint of each key whose records must match across instances and restarts (HMAC-SHA256 of a
-- fixed text under the key, never the key): `passwords.record_key` today. A host whose key differs from
-- the stored one says so at start, since the records made under the other key no longer match.
CREATE TABLE key_fingerprints (
    name        TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
