-- Sector meetings (one row per occurrence; a series groups recurring occurrences).

CREATE TABLE meeting_series (
    id          INTEGER PRIMARY KEY,
    team_id     INTEGER NOT NULL REFERENCES teams (id),
    -- weekly: every `interval_n` weeks on the first occurrence's weekday;
    -- monthly: on the Nth weekday of the month (N and weekday from the first occurrence).
    rule        TEXT NOT NULL CHECK (rule IN ('weekly', 'monthly')),
    interval_n  INTEGER NOT NULL DEFAULT 1 CHECK (interval_n BETWEEN 1 AND 12),
    until_date  TEXT NOT NULL,  -- local date (YYYY-MM-DD), inclusive
    created_by  INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE meetings (
    id               INTEGER PRIMARY KEY,
    team_id          INTEGER NOT NULL REFERENCES teams (id),
    series_id        INTEGER REFERENCES meeting_series (id),
    title            TEXT NOT NULL CHECK (length(title) BETWEEN 3 AND 150),
    starts_at        TEXT NOT NULL,  -- UTC ISO-8601
    duration_minutes INTEGER NOT NULL CHECK (duration_minutes BETWEEN 5 AND 1440),
    place            TEXT CHECK (place IS NULL OR length(place) BETWEEN 3 AND 300),
    online_url       TEXT CHECK (online_url IS NULL OR length(online_url) BETWEEN 8 AND 500),
    agenda           TEXT CHECK (agenda IS NULL OR length(agenda) <= 2000),
    capacity         INTEGER CHECK (capacity IS NULL OR capacity BETWEEN 1 AND 100000),
    -- JSON list of reminder lead times in minutes, e.g. [1440, 60].
    reminder_minutes TEXT NOT NULL CHECK (json_valid(reminder_minutes)),
    state            TEXT NOT NULL DEFAULT 'scheduled' CHECK (state IN ('scheduled', 'cancelled')),
    created_by       INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CHECK (place IS NOT NULL OR online_url IS NOT NULL)
);
CREATE INDEX meetings_team_start ON meetings (team_id, starts_at);
CREATE INDEX meetings_upcoming ON meetings (starts_at) WHERE state = 'scheduled';
CREATE INDEX meetings_series ON meetings (series_id) WHERE series_id IS NOT NULL;
