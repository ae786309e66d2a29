-- Operations: the ids of the updates already taken, so that an update Telegram delivers again
-- (after a crash before the polling offset was confirmed) is skipped: at most once.
-- Telegram picks update ids at random after a week without updates, so ids are kept as a set
-- with the time they arrived (pruned after a few days), never as a "highest id seen".
CREATE TABLE processed_updates (
    update_id   INTEGER PRIMARY KEY,
    received_at TEXT NOT NULL
);
CREATE INDEX processed_updates_received ON processed_updates (received_at);
