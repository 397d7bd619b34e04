-- sansmail-store PostgreSQL schema, version 1.
--
-- Mailboxes carry their UIDNEXT and HIGHESTMODSEQ: a transaction that adds or changes
-- messages locks its mailbox's row first (UPDATE ... RETURNING), so UIDs and modseqs are
-- given in commit order, without gaps a client could see and without duplicates, however
-- many nodes append at once. Modseqs come from one sequence for the whole database, so a
-- mailbox that is deleted and created again never reuses one.

CREATE SEQUENCE modseq START WITH 2;
CREATE SEQUENCE lease_ids;

CREATE TABLE accounts (
    id               bigserial PRIMARY KEY,
    name             text NOT NULL UNIQUE,
    -- The last UIDVALIDITY given in this account; new ones are always larger.
    last_uidvalidity bigint NOT NULL DEFAULT 0,
    quota_bytes      bigint,
    quota_messages   bigint,
    -- The POP3 maildrop lease: one holder per account, across every node.
    lease_id         bigint,
    lease_session    bigint,
    lease_expires    timestamptz
);

CREATE TABLE mailboxes (
    id             bigserial PRIMARY KEY,
    account_id     bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name           text NOT NULL,
    uidvalidity    bigint NOT NULL,
    uidnext        bigint NOT NULL DEFAULT 1,
    highest_modseq bigint NOT NULL DEFAULT 1,
    -- Messages with a UID at or above this are \Recent (IMAP4rev1).
    first_recent   bigint NOT NULL DEFAULT 1,
    special_use    text,
    UNIQUE (account_id, name)
);

-- Keywords ever used in a mailbox (FLAGS, PERMANENTFLAGS), spelled as first given.
CREATE TABLE mailbox_keywords (
    mailbox_id bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    lower_name text NOT NULL,
    keyword    text NOT NULL,
    PRIMARY KEY (mailbox_id, lower_name)
);

CREATE TABLE subscriptions (
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       text NOT NULL,
    PRIMARY KEY (account_id, name)
);

-- Message octets, stored once per content (SHA-256) and shared by every copy; refs counts
-- the messages that point here. ENVELOPE and BODYSTRUCTURE as computed at append (JSON).
CREATE TABLE blobs (
    hash       bytea PRIMARY KEY,
    refs       bigint NOT NULL,
    size       bigint NOT NULL,
    vsize      bigint NOT NULL,
    header_len bigint NOT NULL,
    -- The Date: field's day as written (days since 1970-01-01), if it parses.
    sent_day   integer,
    mime       text NOT NULL,
    data       bytea NOT NULL
);
-- Uncompressed out-of-line storage: substring() (a range, the header) reads only its part.
ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL;

-- Every field of a blob's header block, unfolded, for SEARCH HEADER/SUBJECT/...: the name
-- and the value in ASCII lower case, so a search is one indexed lookup per message.
CREATE TABLE header_fields (
    hash  bytea NOT NULL REFERENCES blobs (hash) ON DELETE CASCADE,
    name  bytea NOT NULL,
    value bytea NOT NULL
);
CREATE INDEX header_fields_hash_name ON header_fields (hash, name);

-- The addresses of From/To/Cc/Bcc/Reply-To/Sender as SEARCH FROM/TO/... compares them
-- (display name and local@domain, comments removed), in ASCII lower case.
CREATE TABLE addresses (
    hash bytea NOT NULL REFERENCES blobs (hash) ON DELETE CASCADE,
    name bytea NOT NULL,
    form bytea NOT NULL
);
CREATE INDEX addresses_hash_name ON addresses (hash, name);

CREATE TABLE messages (
    mailbox_id     bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    uid            bigint NOT NULL,
    modseq         bigint NOT NULL,
    -- The modseq of the transaction that added the message.
    created_modseq bigint NOT NULL,
    -- \Seen 1, \Answered 2, \Flagged 4, \Deleted 8, \Draft 16.
    flags          smallint NOT NULL,
    keywords       text[] NOT NULL,
    -- The same keywords in ASCII lower case, for SEARCH KEYWORD.
    keywords_lower text[] NOT NULL,
    internal_date  bigint NOT NULL,
    date_offset    integer NOT NULL,
    -- Days since 1970-01-01 of the internal date in its own zone, and of the Date: field
    -- (the internal date's day when it has none that parses): SEARCH BEFORE/ON/SINCE and
    -- SENTBEFORE/SENTON/SENTSINCE.
    internal_day   integer,
    sent_day       integer,
    size           bigint NOT NULL,
    vsize          bigint NOT NULL,
    hash           bytea NOT NULL REFERENCES blobs (hash),
    PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX messages_modseq ON messages (mailbox_id, modseq);
CREATE INDEX messages_hash ON messages (hash);

-- What was expunged at which modseq (QRESYNC VANISHED (EARLIER), changes since a modseq).
CREATE TABLE expunged (
    mailbox_id bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    uid        bigint NOT NULL,
    modseq     bigint NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX expunged_modseq ON expunged (mailbox_id, modseq);
