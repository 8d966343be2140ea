-- Email addresses are compared without regard to letter case (SPEC: one account per address): the host
-- stores them with ASCII letters folded to lower case, and this folds the rows written before, so that
-- the column's UNIQUE constraint holds for the folded address. translate(), not lower(): lower() would
-- also fold non-ASCII letters, as the database's locale decides, and the host folds ASCII only. Two
-- accounts whose addresses differ only in letter case stop this migration at the index below (the error
-- names it): delete one of them, or change its address, and start again.
CREATE UNIQUE INDEX users_email_case_duplicates
    ON users(translate(email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'));
UPDATE users SET email = translate(email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
    WHERE email <> translate(email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz');
DROP INDEX users_email_case_duplicates;
