-- Roles and audit: one-time moderator invites and the audit log of moderators' and admins' actions.

-- A one-time deep link (/start mod-<token>) granting a sector's moderator role. Only the
-- SHA-256 of the token is stored; used_at/used_by are set by the one UPDATE that redeems it.
CREATE TABLE moderator_invites (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    team_id     INTEGER NOT NULL REFERENCES teams (id),
    created_by  INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    used_by     INTEGER,
    CHECK ((used_at IS NULL) = (used_by IS NULL))
);

-- The name Telegram showed when the role was granted, so /team and /revoke can say who it is
-- (the bot cannot look names up later); it goes with the role when the role is revoked.
ALTER TABLE moderators ADD COLUMN display_name TEXT CHECK (display_name IS NULL OR length(display_name) <= 64);
CREATE INDEX moderators_team ON moderators (team_id, user_id);

-- Who did what, when, on what. Rows are only ever inserted; id order is commit order.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    actor_id INTEGER NOT NULL,
    -- 'role.grant', 'role.revoke', 'broadcast.send', 'meeting.create', 'meeting.edit',
    -- 'meeting.cancel', 'postulate.review', ...
    action   TEXT NOT NULL CHECK (length(action) BETWEEN 1 AND 40),
    -- What it was done on, e.g. 'meeting:42', 'user:123', 'postulate:P-2026-0042'.
    target   TEXT NOT NULL CHECK (length(target) BETWEEN 1 AND 200),
    -- JSON object with whatever else says what happened (sector, title, decision, ...).
    details  TEXT CHECK (details IS NULL OR (json_valid(details) AND json_type(details) = 'object'))
);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
