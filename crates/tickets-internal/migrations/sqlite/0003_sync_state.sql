-- Named values and leases for the sync provider (see src/state.rs). Never edited once shipped.

CREATE TABLE sync_state (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    owner      TEXT,
    expires_at TEXT,
    updated_at TEXT NOT NULL
);
