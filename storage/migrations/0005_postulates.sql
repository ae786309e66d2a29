-- Postulates: drafts (the submission conversation, resumable), postulates with their state
-- history, supports, pending review inputs and calls for postulates; FTS5 for similarity.

-- Calls for postulates: a sector collects postulates until a deadline.
CREATE TABLE postulate_calls (
    id          INTEGER PRIMARY KEY,
    team_id     INTEGER NOT NULL REFERENCES teams (id),
    title       TEXT NOT NULL CHECK (length(title) BETWEEN 3 AND 150),
    deadline    TEXT NOT NULL,  -- UTC ISO-8601
    state       TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    opened_by   INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX postulate_calls_team ON postulate_calls (team_id, deadline);

-- One sequence per year for references like P-2026-0042.
CREATE TABLE postulate_counters (
    year INTEGER PRIMARY KEY,
    last INTEGER NOT NULL
);

CREATE TABLE postulates (
    id                 INTEGER PRIMARY KEY,
    reference          TEXT NOT NULL UNIQUE,
    -- The draft it was submitted from: a second submit of the same draft finds this row.
    draft_id           INTEGER NOT NULL UNIQUE,
    team_id            INTEGER NOT NULL REFERENCES teams (id),
    -- NULL once the author used /forget (the postulate stays, anonymised).
    author_id          INTEGER,
    organisation_id    INTEGER REFERENCES organisations (id) ON DELETE SET NULL,
    -- The organisation's name when submitted: the record keeps it if the link goes.
    organisation_name  TEXT,
    call_id            INTEGER REFERENCES postulate_calls (id),
    title              TEXT NOT NULL CHECK (length(title) BETWEEN 5 AND 150),
    content            TEXT NOT NULL CHECK (length(content) BETWEEN 20 AND 3500),
    attachment_type    TEXT CHECK (attachment_type IN ('document', 'photo', 'voice')),
    attachment_file_id TEXT,
    state              TEXT NOT NULL DEFAULT 'submitted'
                       CHECK (state IN ('submitted', 'in_review', 'clarification', 'forwarded',
                                        'adopted', 'not_adopted', 'rejected', 'duplicate',
                                        'withdrawn')),
    duplicate_of       INTEGER REFERENCES postulates (id),
    -- The last answer (reason, question, decision text) shown to the author.
    answer             TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    CHECK ((attachment_type IS NULL) = (attachment_file_id IS NULL)),
    CHECK ((state = 'duplicate') = (duplicate_of IS NOT NULL))
);
CREATE INDEX postulates_queue ON postulates (team_id, state, created_at);
CREATE INDEX postulates_author ON postulates (author_id) WHERE author_id IS NOT NULL;

-- Who did what, when, and what was said (reasons, questions, answers, decisions).
CREATE TABLE postulate_history (
    id           INTEGER PRIMARY KEY,
    postulate_id INTEGER NOT NULL REFERENCES postulates (id) ON DELETE CASCADE,
    at           TEXT NOT NULL,
    actor_id     INTEGER,
    action       TEXT NOT NULL CHECK (length(action) BETWEEN 1 AND 40),
    from_state   TEXT,
    to_state     TEXT NOT NULL,
    note         TEXT CHECK (note IS NULL OR length(note) <= 4000)
);
CREATE INDEX postulate_history_postulate ON postulate_history (postulate_id, id);

-- A co-signature: one per organisation (or per person without one).
CREATE TABLE postulate_supports (
    postulate_id    INTEGER NOT NULL REFERENCES postulates (id) ON DELETE CASCADE,
    user_id         INTEGER,
    organisation_id INTEGER REFERENCES organisations (id) ON DELETE SET NULL,
    organisation_name TEXT,
    supporter_key   TEXT NOT NULL,  -- 'o<organisation id>' or 'u<user id>'
    created_at      TEXT NOT NULL,
    PRIMARY KEY (postulate_id, supporter_key)
) WITHOUT ROWID;

-- The submission conversation, one per user; `step` is where it stands, so a restarted bot
-- continues it. `paused`: another command was used, text is not taken until /postulate.
CREATE TABLE postulate_drafts (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: submit is idempotent
    user_id            INTEGER NOT NULL UNIQUE,
    step               TEXT NOT NULL CHECK (step IN ('sector', 'behalf', 'title', 'content',
                                                    'attachment', 'similar', 'preview')),
    editing            INTEGER NOT NULL DEFAULT 0 CHECK (editing IN (0, 1)),
    paused             INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    team_id            INTEGER REFERENCES teams (id) ON DELETE SET NULL,
    organisation_id    INTEGER REFERENCES organisations (id) ON DELETE SET NULL,
    on_behalf          TEXT CHECK (on_behalf IN ('self', 'organisation')),
    title              TEXT,
    content            TEXT,
    attachment_type    TEXT CHECK (attachment_type IN ('document', 'photo', 'voice')),
    attachment_file_id TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX postulate_drafts_idle ON postulate_drafts (updated_at);

-- A review action waiting for its text (reason, question, reference, answer), per user.
CREATE TABLE postulate_prompts (
    user_id      INTEGER PRIMARY KEY,
    action       TEXT NOT NULL CHECK (action IN ('reject', 'ask', 'duplicate', 'adopt',
                                                 'not_adopt', 'answer', 'call')),
    postulate_id INTEGER REFERENCES postulates (id) ON DELETE CASCADE,
    team_id      INTEGER REFERENCES teams (id),
    created_at   TEXT NOT NULL
);

-- Similar postulates: full-text index over title and content, kept in step by triggers.
CREATE VIRTUAL TABLE postulates_fts USING fts5 (
    title, content, content = 'postulates', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER postulates_fts_insert AFTER INSERT ON postulates BEGIN
    INSERT INTO postulates_fts (rowid, title, content) VALUES (new.id, new.title, new.content);
END;
CREATE TRIGGER postulates_fts_delete AFTER DELETE ON postulates BEGIN
    INSERT INTO postulates_fts (postulates_fts, rowid, title, content)
    VALUES ('delete', old.id, old.title, old.content);
END;
CREATE TRIGGER postulates_fts_update AFTER UPDATE OF title, content ON postulates BEGIN
    INSERT INTO postulates_fts (postulates_fts, rowid, title, content)
    VALUES ('delete', old.id, old.title, old.content);
    INSERT INTO postulates_fts (rowid, title, content) VALUES (new.id, new.title, new.content);
END;
