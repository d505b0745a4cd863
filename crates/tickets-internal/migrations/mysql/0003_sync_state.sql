-- Named values and leases for the sync provider (see src/state.rs). Never edited once shipped.

CREATE TABLE sync_state (
    name       VARCHAR(191) NOT NULL PRIMARY KEY,
    value      TEXT         NOT NULL,
    owner      VARCHAR(191),
    expires_at DATETIME(6),
    updated_at DATETIME(6)  NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
