-- Attachments (see src/attachments.rs): the record, and the content in chunks of at most
-- 1 MiB (so no statement carries more than a server's packet limit, and reads stream), and a
-- record of each deleted ticket. Never edited once shipped.

CREATE TABLE attachments (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT    NOT NULL UNIQUE,
    ticket_id       TEXT    NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    filename        TEXT    NOT NULL,
    content_type    TEXT    NOT NULL,
    size            INTEGER NOT NULL,
    author          TEXT,
    idempotency_key TEXT,
    created_at      TEXT    NOT NULL,
    UNIQUE (ticket_id, idempotency_key)
);
CREATE INDEX attachments_ticket ON attachments (ticket_id, seq);

CREATE TABLE attachment_chunks (
    attachment_seq INTEGER NOT NULL REFERENCES attachments (seq) ON DELETE CASCADE,
    n              INTEGER NOT NULL,
    data           BLOB    NOT NULL,
    PRIMARY KEY (attachment_seq, n)
);

CREATE TABLE deletions (
    ticket_id  TEXT NOT NULL,
    number     INTEGER NOT NULL,
    subject    TEXT NOT NULL,
    deleted_at TEXT NOT NULL
);
CREATE INDEX deletions_ticket ON deletions (ticket_id);
