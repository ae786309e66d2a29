-- Organisation representatives: who represents an NGO, and who only asked to.
-- Until now typing a registered KRS made anyone a representative (and overwrote the
-- organisation's data); from here on a newcomer is `pending` until an accepted representative
-- (or an admin) decides. users.organisation_id stays as the accepted link every other feature
-- reads (on-behalf postulates, supports, attendee lists); storage.organisations keeps the two
-- in step in the same transaction.
CREATE TABLE organisation_representatives (
    id              INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'declined', 'removed')),
    requested_at    TEXT NOT NULL,
    decided_at      TEXT,
    -- The representative or admin who accepted or declined; NULL for the founder, a
    -- withdrawal, or once the decider is erased (/forget).
    decided_by      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    CHECK ((state = 'pending') = (decided_at IS NULL))
);
-- A person represents (or asks to represent) at most one organisation at a time.
CREATE UNIQUE INDEX organisation_representatives_current
    ON organisation_representatives (user_id) WHERE state IN ('pending', 'accepted');
CREATE INDEX organisation_representatives_organisation
    ON organisation_representatives (organisation_id, state);

-- Everyone linked so far was the organisation's representative.
INSERT INTO organisation_representatives (organisation_id, user_id, state, requested_at, decided_at)
SELECT organisation_id, id, 'accepted', created_at, created_at
FROM users WHERE organisation_id IS NOT NULL;
