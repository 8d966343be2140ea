-- What pruning needs: when a failure row last changed, and an index to find ended sessions.
ALTER TABLE password_failures ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX password_failures_updated ON password_failures(updated_at);
CREATE INDEX sessions_refresh_expires ON sessions(refresh_expires_at);
