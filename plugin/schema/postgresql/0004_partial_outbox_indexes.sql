-- Outbox indexes that hold only the rows their queries look for. A message changes state two or three
-- times (pending, sending, then delivered, cancelled, failed or expired); an index on `status` moved
-- every row at each change, in three indexes. Now a change touches only the partial indexes the row
-- leaves or enters, and `user_id`, which never changes, has a plain index for account deletion.
DROP INDEX outbox_due;
DROP INDEX outbox_user_status;
DROP INDEX outbox_leased;
CREATE INDEX outbox_user ON outbox(user_id);
CREATE INDEX outbox_unsent ON outbox(user_id) WHERE status IN ('pending', 'sending');
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_leased ON outbox(lease_until) WHERE status = 'sending';
