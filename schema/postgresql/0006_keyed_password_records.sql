-- Sign-in names and client addresses are now kept as HMAC-SHA256 under `passwords.record_key`, not as
-- unkeyed SHA-256 (which a copy of the database undoes by hashing every IPv4 address): rows written
-- before can never be matched again. Clients are known again from their next sign-in, and per-name
-- counts start over; the accounts' own counts (`account:`, `user:`) are kept.
DELETE FROM known_clients;
DELETE FROM password_failures WHERE subject LIKE 'login:%';
