-- Attachments (see src/attachments.rs): the record, and the content in chunks of at most
-- 1 MiB (so no statement carries more than a server's packet limit, and reads stream), and a
-- record of each deleted ticket. Never edited once shipped.

CREATE TABLE attachments (
    seq             BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    id              VARCHAR(36)  NOT NULL,
    ticket_id       VARCHAR(36)  NOT NULL,
    filename        VARCHAR(1024) NOT NULL,
    content_type    VARCHAR(255) NOT NULL,
    size            BIGINT       NOT NULL,
    author          VARCHAR(255),
    idempotency_key VARCHAR(191),
    created_at      DATETIME(6)  NOT NULL,
    UNIQUE KEY attachments_id (id),
    UNIQUE KEY attachments_key (ticket_id, idempotency_key),
    KEY attachments_ticket (ticket_id, seq),
    CONSTRAINT attachments_ticket_fk FOREIGN KEY (ticket_id) REFERENCES tickets (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE attachment_chunks (
    attachment_seq BIGINT     NOT NULL,
    n              BIGINT     NOT NULL,
    data           MEDIUMBLOB NOT NULL,
    PRIMARY KEY (attachment_seq, n),
    CONSTRAINT attachment_chunks_fk FOREIGN KEY (attachment_seq) REFERENCES attachments (seq) ON DELETE CASCADE
) ENGINE = InnoDB;

CREATE TABLE deletions (
    ticket_id  VARCHAR(36)  NOT NULL,
    number     BIGINT       NOT NULL,
    subject    TEXT         NOT NULL,
    deleted_at DATETIME(6)  NOT NULL,
    KEY deletions_ticket (ticket_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
