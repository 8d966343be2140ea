-- Email addresses are compared without regard to letter case (SPEC: one account per address): the host
-- stores them with ASCII letters folded to lower case, and this folds the rows written before, so that
-- the column's UNIQUE constraint holds for the folded address. SQLite's lower() folds ASCII only, as the
-- host does. Two accounts whose addresses differ only in letter case stop this migration at the index
-- below (the error names it, not the address): delete one of them, or change its address, and start
-- again.
CREATE UNIQUE INDEX users_email_case_duplicates ON users(lower(email));
UPDATE users SET email = lower(email) WHERE email <> lower(email);
DROP INDEX users_email_case_duplicates;
