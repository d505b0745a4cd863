-- tickets internal store, SQLite dialect. Shipped migrations are never edited; add a new file.

CREATE TABLE tickets (
    number          INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT    NOT NULL UNIQUE,
    subject         TEXT    NOT NULL,
    description     TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    priority        TEXT    NOT NULL,
    kind            TEXT,
    assignee        TEXT,
    requester       TEXT,
    watchers        TEXT    NOT NULL,
    tags            TEXT    NOT NULL,
    due             TEXT,
    custom_fields   TEXT    NOT NULL,
    idempotency_key TEXT    UNIQUE,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    version         INTEGER NOT NULL
);

CREATE INDEX tickets_status    ON tickets (status, number);
CREATE INDEX tickets_assignee  ON tickets (assignee, number);
CREATE INDEX tickets_requester ON tickets (requester, number);
CREATE INDEX tickets_updated   ON tickets (updated_at);

CREATE TABLE ticket_tags (
    ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    tag       TEXT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);
CREATE INDEX ticket_tags_tag ON ticket_tags (tag, ticket_id);

CREATE TABLE comments (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT    NOT NULL UNIQUE,
    ticket_id       TEXT    NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    author          TEXT,
    body            TEXT    NOT NULL,
    public          INTEGER NOT NULL,
    idempotency_key TEXT,
    created_at      TEXT    NOT NULL,
    UNIQUE (ticket_id, idempotency_key)
);
CREATE INDEX comments_ticket ON comments (ticket_id, seq);

CREATE TABLE history (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id  TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    action     TEXT NOT NULL,
    field      TEXT,
    old_value  TEXT,
    new_value  TEXT,
    actor      TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX history_ticket ON history (ticket_id, seq);

-- Text search: an FTS5 trigram index over subject and description, kept in step by triggers.
-- A quoted phrase query on a trigram index is a case-insensitive substring match.
CREATE VIRTUAL TABLE tickets_fts USING fts5 (
    subject, description, content = 'tickets', content_rowid = 'number', tokenize = 'trigram'
);

CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO tickets_fts (rowid, subject, description)
    VALUES (new.number, new.subject, new.description);
END;

CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, subject, description)
    VALUES ('delete', old.number, old.subject, old.description);
END;

CREATE TRIGGER tickets_fts_update AFTER UPDATE OF subject, description ON tickets
WHEN old.subject IS NOT new.subject OR old.description IS NOT new.description BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, subject, description)
    VALUES ('delete', old.number, old.subject, old.description);
    INSERT INTO tickets_fts (rowid, subject, description)
    VALUES (new.number, new.subject, new.description);
END;
