-- Sudo tokens spent by the change they authorised (a password change, an account deletion): each is
-- accepted once. Kept until the token would have expired anyway.
CREATE TABLE spent_sudo_tokens (
    jti         TEXT PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX spent_sudo_tokens_expires ON spent_sudo_tokens(expires_at);
