-- Multi-step conversations (/new_meeting, /edit_meeting, /broadcast, /organisation, /grant)
-- keep their state here, not in memory, so a restart or a kill -9 loses nothing.
-- A user may have several paused conversations (one per flow) but at most one active one:
-- another command pauses it, the flow's own command resumes it.
CREATE TABLE conversations (
    user_id           INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    flow              TEXT NOT NULL CHECK (length(flow) BETWEEN 1 AND 40),
    step              TEXT NOT NULL CHECK (length(step) BETWEEN 1 AND 40),
    -- The flow's pydantic model as JSON; the flow validates it when it reads it back.
    state             TEXT NOT NULL CHECK (json_valid(state)),
    paused            INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    -- The message that asks the current question, so a step can edit it in place.
    prompt_message_id INTEGER,
    -- What the user is told when the conversation expires (a message id of the catalogue).
    expired_key       TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    expires_at        TEXT NOT NULL,
    PRIMARY KEY (user_id, flow)
) WITHOUT ROWID;
CREATE UNIQUE INDEX conversations_one_active ON conversations (user_id) WHERE paused = 0;
-- The expiry job reads the oldest first without scanning every conversation.
CREATE INDEX conversations_expiry ON conversations (expires_at);
