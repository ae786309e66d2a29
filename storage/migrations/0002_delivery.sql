-- The delivery engine: every outgoing notice is an announcement, fanned out into one delivery
-- per recipient chat and sent by the dispatcher job.

CREATE TABLE announcements (
    id          INTEGER PRIMARY KEY,
    -- What it is: meeting-notice, meeting-change, meeting-cancelled, meeting-reminder,
    -- rsvp-promoted, broadcast, postulate-status, moderator-alert, call-reminder, ...
    kind        TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 40),
    -- Who gets it: a resolver name ('user', 'team', 'meeting', ...) and its argument.
    audience    TEXT NOT NULL CHECK (length(audience) BETWEEN 1 AND 40),
    audience_id INTEGER NOT NULL,
    -- What it is about, e.g. 'meeting:42', so that all its pending notices can be expired.
    subject     TEXT,
    -- JSON: {"pl": {"text": "<html>", "reply_markup": {...} | null}, "en": {...}}
    payload     TEXT NOT NULL CHECK (json_valid(payload)),
    due_at      TEXT NOT NULL,
    -- Past this instant an undelivered copy is no longer useful and becomes 'expired'.
    expires_at  TEXT,
    state       TEXT NOT NULL DEFAULT 'scheduled'
                CHECK (state IN ('scheduled', 'fanned_out', 'cancelled')),
    created_by  INTEGER,
    created_at  TEXT NOT NULL
);
CREATE INDEX announcements_due ON announcements (due_at) WHERE state = 'scheduled';
CREATE INDEX announcements_subject ON announcements (subject) WHERE subject IS NOT NULL;

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    announcement_id INTEGER NOT NULL REFERENCES announcements (id) ON DELETE CASCADE,
    chat_id         INTEGER NOT NULL,
    language        TEXT NOT NULL CHECK (language IN ('pl', 'en')),
    -- pending -> sending (claimed, committed before the call) -> sent | failed | blocked |
    -- pending (retry) | unknown (ambiguous: may have arrived); pending -> expired.
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'blocked',
                                     'unknown', 'expired')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    message_id      INTEGER,
    error           TEXT,
    updated_at      TEXT NOT NULL,
    UNIQUE (announcement_id, chat_id)
);
CREATE INDEX deliveries_ready ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_sending ON deliveries (state) WHERE state = 'sending';

-- Telegram's flood control (429) applies to the whole bot: nothing is sent before `until`.
CREATE TABLE delivery_pause (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    until TEXT NOT NULL
);
