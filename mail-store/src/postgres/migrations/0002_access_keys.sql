-- URLAUTH access keys (RFC 4467 §7): the secret each mailbox's URLAUTH tokens are computed
-- with, made at the mailbox's first GENURLAUTH and removed by RESETKEY. A key goes with its
-- mailbox.
CREATE TABLE mailbox_access_keys (
    mailbox_id bigint PRIMARY KEY REFERENCES mailboxes (id) ON DELETE CASCADE,
    key        bytea NOT NULL
);
