-- Notification settings (/settings) and what /stats needs besides the existing tables.

-- One row per user who changed anything; no row = the defaults (nothing muted, every
-- configured reminder lead time, no quiet hours, instant news).
CREATE TABLE notification_settings (
    user_id        INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- JSON list of configured reminder lead times (minutes) the user does NOT want.
    reminders_off  TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(reminders_off)),
    -- Quiet hours in local time, minutes after midnight; both NULL = none. The window may
    -- wrap midnight (22:00-07:00 is 1320-420).
    quiet_start    INTEGER CHECK (quiet_start IS NULL OR quiet_start BETWEEN 0 AND 1439),
    quiet_end      INTEGER CHECK (quiet_end IS NULL OR quiet_end BETWEEN 0 AND 1439),
    digest         INTEGER NOT NULL DEFAULT 0 CHECK (digest IN (0, 1)),
    -- Local date (YYYY-MM-DD) of the last digest queued, so that one goes out per day.
    digest_sent_on TEXT,
    updated_at     TEXT NOT NULL,
    CHECK ((quiet_start IS NULL) = (quiet_end IS NULL)),
    CHECK (quiet_start IS NULL OR quiet_start != quiet_end)
) WITHOUT ROWID;
CREATE INDEX notification_settings_digest ON notification_settings (user_id) WHERE digest = 1;

-- Sectors whose news a user does not want (still subscribed).
CREATE TABLE muted_teams (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    team_id    INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, team_id)
) WITHOUT ROWID;
CREATE INDEX muted_teams_team ON muted_teams (team_id, user_id);

-- News held for a digest user until their daily summary is queued.
CREATE TABLE digest_items (
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    announcement_id INTEGER NOT NULL REFERENCES announcements (id) ON DELETE CASCADE,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (user_id, announcement_id)
) WITHOUT ROWID;

-- The lead time of a reminder (minutes before the meeting), so that fan-out can skip the
-- users who do not want that lead; NULL for every other kind.
ALTER TABLE announcements ADD COLUMN lead_minutes INTEGER
    CHECK (lead_minutes IS NULL OR lead_minutes > 0);

-- /stats: "the month's change" of subscribers needs the unsubscriptions, which delete their
-- row. The trigger keeps when each one ended (SQLite's clock: the real time).
CREATE TABLE subscription_ends (
    team_id       INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    subscribed_at TEXT NOT NULL,
    ended_at      TEXT NOT NULL
);
CREATE INDEX subscription_ends_team ON subscription_ends (team_id, ended_at);

CREATE TRIGGER subscription_ended AFTER DELETE ON subscriptions
BEGIN
    INSERT INTO subscription_ends (team_id, subscribed_at, ended_at)
    VALUES (OLD.team_id, OLD.created_at,
            strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'));
END;
