-- The outbox also carries account notices (a password changed, an account deleted), which hold no code:
-- `kind` is `code` for a reauthentication code (code_id names it, payload seals it) or the notice's
-- kind, with code_id and payload empty. Existing rows are codes.
ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'code';
