-- Outbox and links for the sync provider (see src/outbox.rs). Never edited once shipped.

CREATE TABLE outbox (
    seq          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    ticket_id    VARCHAR(36)  NOT NULL,
    operation    VARCHAR(16)  NOT NULL,
    payload      MEDIUMTEXT   NOT NULL,
    state        VARCHAR(16)  NOT NULL,
    attempts     BIGINT       NOT NULL,
    last_error   TEXT,
    available_at DATETIME(6)  NOT NULL,
    created_at   DATETIME(6)  NOT NULL,
    KEY outbox_due (state, available_at, seq),
    KEY outbox_ticket (ticket_id, seq),
    CONSTRAINT outbox_ticket_fk FOREIGN KEY (ticket_id) REFERENCES tickets (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE links (
    ticket_id   VARCHAR(36)  NOT NULL,
    remote_name VARCHAR(191) NOT NULL,
    remote_kind VARCHAR(64)  NOT NULL,
    remote_id   VARCHAR(191) NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (ticket_id, remote_name),
    UNIQUE KEY links_remote (remote_name, remote_id),
    CONSTRAINT links_ticket_fk FOREIGN KEY (ticket_id) REFERENCES tickets (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
