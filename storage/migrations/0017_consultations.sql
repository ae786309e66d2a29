-- Consulting the draft programme (issue 15): a draft split into sections, members' comments
-- per section, the coordinating team's answers (with every change kept) and the report.

CREATE TABLE consultations (
    id                  INTEGER PRIMARY KEY,
    title               TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    -- 'draft' until Publish: nobody but the admins sees it.
    state               TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'published')),
    opens_at            TEXT NOT NULL,
    closes_at           TEXT NOT NULL CHECK (closes_at > opens_at),
    all_sectors         INTEGER NOT NULL DEFAULT 1 CHECK (all_sectors IN (0, 1)),
    file_name           TEXT NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
    created_by          INTEGER NOT NULL,
    created_at          TEXT NOT NULL,
    published_at        TEXT,
    -- Set by /consultation_report: the answers are final from then on.
    report_published_at TEXT
);
CREATE INDEX consultations_state ON consultations (state, closes_at);

-- The sector teams whose subscribers are told (every sector when all_sectors = 1).
CREATE TABLE consultation_sectors (
    consultation_id INTEGER NOT NULL REFERENCES consultations (id) ON DELETE CASCADE,
    team_id         INTEGER NOT NULL REFERENCES teams (id),
    PRIMARY KEY (consultation_id, team_id)
) WITHOUT ROWID;

CREATE TABLE consultation_sections (
    id              INTEGER PRIMARY KEY,
    consultation_id INTEGER NOT NULL REFERENCES consultations (id) ON DELETE CASCADE,
    number          INTEGER NOT NULL CHECK (number BETWEEN 1 AND 200),
    title           TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    body            TEXT NOT NULL,
    UNIQUE (consultation_id, number)
);

CREATE TABLE consultation_comments (
    id              INTEGER PRIMARY KEY,
    consultation_id INTEGER NOT NULL REFERENCES consultations (id),
    section_id      INTEGER NOT NULL REFERENCES consultation_sections (id),
    -- NULL once the author used /forget: the comment stays, as a private person's.
    user_id         INTEGER,
    -- On behalf of this organisation (its accepted representative sent it); NULL: privately.
    organisation_id INTEGER REFERENCES organisations (id),
    body            TEXT NOT NULL CHECK (length(body) BETWEEN 20 AND 2000),
    wording         TEXT CHECK (wording IS NULL OR length(wording) BETWEEN 1 AND 2000),
    created_at      TEXT NOT NULL,
    answer          TEXT CHECK (answer IN ('accepted', 'partly', 'rejected')),
    justification   TEXT,
    answered_by     INTEGER,
    answered_at     TEXT,
    CHECK ((answer IS NULL) = (justification IS NULL))
);
CREATE INDEX consultation_comments_section ON consultation_comments (section_id, id);
CREATE INDEX consultation_comments_consultation ON consultation_comments (consultation_id, id);
CREATE INDEX consultation_comments_user ON consultation_comments (user_id)
    WHERE user_id IS NOT NULL;

-- Every answer given to a comment, the first one and each later change.
CREATE TABLE consultation_answers (
    id            INTEGER PRIMARY KEY,
    comment_id    INTEGER NOT NULL REFERENCES consultation_comments (id),
    answer        TEXT NOT NULL CHECK (answer IN ('accepted', 'partly', 'rejected')),
    justification TEXT NOT NULL,
    answered_by   INTEGER NOT NULL,
    answered_at   TEXT NOT NULL
);
CREATE INDEX consultation_answers_comment ON consultation_answers (comment_id, id);
CREATE INDEX consultation_answers_by ON consultation_answers (answered_by);
