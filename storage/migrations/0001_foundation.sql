-- Foundation: teams, users, organisations, subscriptions, roles.
-- Times are UTC ISO-8601 text ("2026-11-26T10:00:00+00:00").

CREATE TABLE teams (
    id             INTEGER PRIMARY KEY,
    slug           TEXT NOT NULL UNIQUE CHECK (length(slug) BETWEEN 1 AND 40),
    kind           TEXT NOT NULL CHECK (kind IN ('coordination', 'sector')),
    name_pl        TEXT NOT NULL,
    name_en        TEXT NOT NULL,
    description_pl TEXT NOT NULL,
    description_en TEXT NOT NULL,
    position       INTEGER NOT NULL
);

CREATE TABLE organisations (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 2 AND 200),
    register_type TEXT NOT NULL CHECK (register_type IN ('krs', 'other', 'none')),
    -- KRS: exactly ten digits, leading zeros kept, so stored as text.
    krs           TEXT UNIQUE CHECK (krs IS NULL OR (length(krs) = 10 AND krs NOT GLOB '*[^0-9]*')),
    register_name TEXT CHECK (register_name IS NULL OR length(register_name) BETWEEN 2 AND 200),
    nip           TEXT CHECK (nip IS NULL OR (length(nip) = 10 AND nip NOT GLOB '*[^0-9]*')),
    regon         TEXT CHECK (regon IS NULL OR (length(regon) IN (9, 14) AND regon NOT GLOB '*[^0-9]*')),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CHECK ((register_type = 'krs') = (krs IS NOT NULL)),
    CHECK ((register_type = 'other') = (register_name IS NOT NULL))
);

-- A user is a Telegram user; their private chat has the same id. Before consent only the id
-- and the language are stored (consent_at IS NULL).
CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    language        TEXT NOT NULL CHECK (language IN ('pl', 'en')),
    language_chosen INTEGER NOT NULL DEFAULT 0 CHECK (language_chosen IN (0, 1)),
    consent_at      TEXT,
    consent_version INTEGER,
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    organisation_id INTEGER REFERENCES organisations (id) ON DELETE SET NULL,
    created_at      TEXT NOT NULL,
    CHECK ((consent_at IS NULL) = (consent_version IS NULL)),
    CHECK (consent_at IS NOT NULL OR organisation_id IS NULL)
);
CREATE INDEX users_organisation ON users (organisation_id) WHERE organisation_id IS NOT NULL;

-- No ON DELETE on team_id: a team with subscribers cannot be removed by a config change.
CREATE TABLE subscriptions (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    team_id    INTEGER NOT NULL REFERENCES teams (id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, team_id)
) WITHOUT ROWID;
CREATE INDEX subscriptions_team ON subscriptions (team_id, user_id);

-- Admins (the coordinating team) are seeded from config at every start; no user row is
-- needed, an admin may not have written to the bot yet.
CREATE TABLE admins (
    user_id  INTEGER PRIMARY KEY,
    source   TEXT NOT NULL CHECK (source IN ('config'))
);

CREATE TABLE moderators (
    user_id    INTEGER NOT NULL,
    team_id    INTEGER NOT NULL REFERENCES teams (id),
    granted_by INTEGER,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (user_id, team_id)
) WITHOUT ROWID;
