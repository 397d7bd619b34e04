-- The expunge history of a mailbox is bounded: past PostgresOptions::expunge_history rows the
-- oldest go, and the mailbox keeps the modseq up to which they reached. Changes since an
-- older modseq are then every UID below uidnext not in the mailbox (RFC 7162 §3.2.6).
-- expunged_count counts the rows (at least), so that the bound is checked without a scan.
ALTER TABLE mailboxes ADD COLUMN expunged_floor bigint NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN expunged_count bigint NOT NULL DEFAULT 0;
UPDATE mailboxes m SET expunged_count = (SELECT count(*) FROM expunged e WHERE e.mailbox_id = m.id);
