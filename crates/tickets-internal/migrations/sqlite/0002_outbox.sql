-- Outbox and links for the sync provider (see src/outbox.rs). Never edited once shipped.

CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id    TEXT    NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    operation    TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    attempts     INTEGER NOT NULL,
    last_error   TEXT,
    available_at TEXT    NOT NULL,
    created_at   TEXT    NOT NULL
);
CREATE INDEX outbox_due ON outbox (state, available_at, seq);
CREATE INDEX outbox_ticket ON outbox (ticket_id, seq);

CREATE TABLE links (
    ticket_id   TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    remote_name TEXT NOT NULL,
    remote_kind TEXT NOT NULL,
    remote_id   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (ticket_id, remote_name),
    UNIQUE (remote_name, remote_id)
);
