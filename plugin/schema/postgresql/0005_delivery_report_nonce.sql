-- Kannel delivery reports are taken once each. The report URL carries a random nonce, signed with the
-- message id; the first report accepted for a message keeps the nonce's SHA-256 here, and a later one
-- must carry the same nonce. `reports_seen` holds the report types (Kannel's bits: 1 delivered,
-- 2 failed, 4 buffered, 8 accepted by the SMSC, 16 rejected by the SMSC) accepted so far: the same
-- type again is a replay and changes nothing. Both go with the row when it is pruned or its user erased.
ALTER TABLE outbox ADD COLUMN report_nonce TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN reports_seen INTEGER NOT NULL DEFAULT 0;
