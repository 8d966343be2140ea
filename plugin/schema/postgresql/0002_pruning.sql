-- Indexes for pruning: codes past their expiry, and finished outbox rows.
CREATE INDEX verification_codes_expires ON verification_codes(expires_at);
CREATE INDEX outbox_user ON outbox(user_id);
CREATE INDEX outbox_finished ON outbox(updated_at) WHERE status IN ('delivered', 'expired', 'failed', 'cancelled');
