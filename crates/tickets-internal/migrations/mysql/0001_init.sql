-- tickets internal store, MySQL/MariaDB dialect. Shipped migrations are never edited; add a new
-- file. Text is utf8mb4 with a binary collation, so ids, tags and people compare exactly; the
-- text filter lower-cases both sides itself.

CREATE TABLE tickets (
    number          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    id              VARCHAR(36)  NOT NULL,
    subject         TEXT         NOT NULL,
    description     MEDIUMTEXT   NOT NULL,
    status          VARCHAR(32)  NOT NULL,
    priority        VARCHAR(16)  NOT NULL,
    kind            VARCHAR(255),
    assignee        VARCHAR(255),
    requester       VARCHAR(255),
    watchers        TEXT         NOT NULL,
    tags            TEXT         NOT NULL,
    due             DATE,
    custom_fields   MEDIUMTEXT   NOT NULL,
    idempotency_key VARCHAR(255),
    created_at      DATETIME(6)  NOT NULL,
    updated_at      DATETIME(6)  NOT NULL,
    version         BIGINT       NOT NULL,
    UNIQUE KEY tickets_id (id),
    UNIQUE KEY tickets_idempotency_key (idempotency_key),
    KEY tickets_status (status, number),
    KEY tickets_assignee (assignee, number),
    KEY tickets_requester (requester, number),
    KEY tickets_updated (updated_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE ticket_tags (
    ticket_id VARCHAR(36)  NOT NULL,
    tag       VARCHAR(255) NOT NULL,
    PRIMARY KEY (ticket_id, tag),
    KEY ticket_tags_tag (tag, ticket_id),
    CONSTRAINT ticket_tags_ticket FOREIGN KEY (ticket_id) REFERENCES tickets (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE comments (
    seq             BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    id              VARCHAR(36)  NOT NULL,
    ticket_id       VARCHAR(36)  NOT NULL,
    author          VARCHAR(255),
    body            MEDIUMTEXT   NOT NULL,
    public          BOOLEAN      NOT NULL,
    idempotency_key VARCHAR(255),
    created_at      DATETIME(6)  NOT NULL,
    UNIQUE KEY comments_id (id),
    UNIQUE KEY comments_idempotency_key (ticket_id, idempotency_key),
    KEY comments_ticket (ticket_id, seq),
    CONSTRAINT comments_ticket_fk FOREIGN KEY (ticket_id) REFERENCES tickets (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE history (
    seq        BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    ticket_id  VARCHAR(36)  NOT NULL,
    action     VARCHAR(32)  NOT NULL,
    field      VARCHAR(255),
    old_value  MEDIUMTEXT,
    new_value  MEDIUMTEXT,
    actor      VARCHAR(255),
    created_at DATETIME(6)  NOT NULL,
    KEY history_ticket (ticket_id, seq),
    CONSTRAINT history_ticket_fk FOREIGN KEY (ticket_id) REFERENCES tickets (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
