-- Indexes the hot path needs (found by profiling the benchmark): cancelling a user's unsent messages
-- looked at every message the user ever had through an index on user_id alone; claiming due messages
-- whose lease ran out had no index at all.
DROP INDEX outbox_user;
CREATE INDEX outbox_user_status ON outbox(user_id, status);
CREATE INDEX outbox_leased ON outbox(status, lease_until);
