-- Broadcasts (a moderator's message to one or several sectors, or to all subscribers) and
-- sector groups (Telegram groups linked to a sector team, receiving its notices).

-- One row per /broadcast. Its message parts are announcements with subject 'broadcast:<id>'
-- and audience 'broadcast' (audience_id = this id): the resolver reads who from here, so a
-- person in several chosen sectors gets one copy.
CREATE TABLE broadcasts (
    id                  INTEGER PRIMARY KEY,
    created_by          INTEGER NOT NULL,
    -- JSON list of sector team ids; NULL = all subscribers (admins only).
    team_ids            TEXT CHECK (team_ids IS NULL OR json_valid(team_ids)),
    -- The first part's text as plain text (for the history), cut short.
    summary             TEXT NOT NULL,
    due_at              TEXT NOT NULL,
    state               TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'cancelled')),
    -- The moderator's message edited in place with the progress; done once nothing is left.
    progress_chat_id    INTEGER,
    progress_message_id INTEGER,
    progress_at         TEXT,
    progress_done       INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL
);
CREATE INDEX broadcasts_progress ON broadcasts (id) WHERE progress_done = 0;
CREATE INDEX broadcasts_created_by ON broadcasts (created_by, id);

-- A Telegram group (negative chat id) receiving a sector team's notices.
CREATE TABLE group_links (
    chat_id   INTEGER PRIMARY KEY CHECK (chat_id < 0),
    team_id   INTEGER NOT NULL REFERENCES teams (id),
    -- Groups have no user row: notices go in the deployment's default language.
    language  TEXT NOT NULL CHECK (language IN ('pl', 'en')),
    title     TEXT,
    linked_by INTEGER NOT NULL,
    linked_at TEXT NOT NULL
);
CREATE INDEX group_links_team ON group_links (team_id);
