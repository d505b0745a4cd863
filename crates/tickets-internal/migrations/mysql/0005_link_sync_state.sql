-- What each link last agreed on with its remote (see src/links.rs): the remote's modification
-- time and a snapshot of its fields, so a pull applies only remote states newer than what was
-- last delivered or pulled, and can tell which side changed a field; and the link's state (a
-- remote deletion is recorded, never applied as a local delete). Never edited once shipped.

ALTER TABLE links
    ADD COLUMN remote_updated_at DATETIME(6) NULL,
    ADD COLUMN snapshot MEDIUMTEXT NULL,
    ADD COLUMN state VARCHAR(32) NOT NULL DEFAULT 'linked',
    ADD COLUMN state_at DATETIME(6) NULL;
