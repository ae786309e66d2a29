-- RSVPs to meetings, with a waiting list when a meeting has a capacity.

CREATE TABLE rsvps (
    meeting_id  INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    answer      TEXT NOT NULL CHECK (answer IN ('going', 'maybe', 'not_going')),
    -- Set while a 'going' answer waits for a free place: the order of the waiting list.
    waitlist_position INTEGER CHECK (waitlist_position IS NULL OR waitlist_position >= 1),
    answered_at TEXT NOT NULL,
    PRIMARY KEY (meeting_id, user_id),
    CHECK (waitlist_position IS NULL OR answer = 'going')
) WITHOUT ROWID;
CREATE INDEX rsvps_user ON rsvps (user_id);
CREATE UNIQUE INDEX rsvps_waiting ON rsvps (meeting_id, waitlist_position)
    WHERE waitlist_position IS NOT NULL;
