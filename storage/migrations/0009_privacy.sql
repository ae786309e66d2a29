-- Privacy (GDPR): consent history, inactivity for retention, the daily retention run.

-- Every consent given, with the notice version: art. 7(1) asks the controller to be able to
-- show when a person agreed to which notice. Written by triggers on `users`, so every path
-- that records consent (the /start button, a deep link) is covered. Erased with the user.
CREATE TABLE consent_history (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    given_at   TEXT NOT NULL
);
CREATE INDEX consent_history_user ON consent_history (user_id, id);

INSERT INTO consent_history (user_id, version, given_at)
    SELECT id, consent_version, consent_at FROM users WHERE consent_at IS NOT NULL ORDER BY id;

CREATE TRIGGER consent_history_insert AFTER INSERT ON users
WHEN new.consent_at IS NOT NULL
BEGIN
    INSERT INTO consent_history (user_id, version, given_at)
    VALUES (new.id, new.consent_version, new.consent_at);
END;

-- A second press of the same consent button is not a new consent; a new version is.
CREATE TRIGGER consent_history_update AFTER UPDATE OF consent_version ON users
WHEN new.consent_at IS NOT NULL AND new.consent_version IS NOT old.consent_version
BEGIN
    INSERT INTO consent_history (user_id, version, given_at)
    VALUES (new.id, new.consent_version, new.consent_at);
END;

-- Since when (as first seen by the daily retention run) a user has been inactive: blocked the
-- bot or left. The run writes the row with its own clock; the trigger forgets it as soon as
-- the user is active again, so coming back resets the count at once.
CREATE TABLE user_inactivity (
    user_id        INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    inactive_since TEXT NOT NULL
);

CREATE TRIGGER user_inactivity_reset AFTER UPDATE OF active ON users
WHEN new.active = 1
BEGIN
    DELETE FROM user_inactivity WHERE user_id = new.id;
END;

-- When retention last ran: at most once a day, across restarts.
CREATE TABLE retention_runs (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    last_at TEXT NOT NULL
);
