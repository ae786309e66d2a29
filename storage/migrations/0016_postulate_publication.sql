-- The public record of postulates (issue 14). A postulate is on the public site once its author
-- agreed to publication ('yes'); one submitted after the site existed was submitted under the
-- notice that says so, hence the default. Those submitted before were not: they wait
-- ('pending') until the bot has asked their author ('asked') and the author answered.
ALTER TABLE postulates ADD COLUMN publication TEXT NOT NULL DEFAULT 'yes'
    CHECK (publication IN ('pending', 'asked', 'yes', 'no'));
UPDATE postulates SET publication = 'pending';
-- A moderator hid it from the public site (the reason is in the audit log and kept here).
ALTER TABLE postulates ADD COLUMN hidden_at TEXT;
ALTER TABLE postulates ADD COLUMN hidden_reason TEXT
    CHECK (hidden_reason IS NULL OR length(hidden_reason) <= 500);
-- The public list, newest first, with only what may be shown.
CREATE INDEX postulates_public ON postulates (created_at, id)
    WHERE publication = 'yes' AND hidden_at IS NULL AND state <> 'withdrawn';
-- The authors still to be asked, a batch at a time.
CREATE INDEX postulates_publication_pending ON postulates (id) WHERE publication = 'pending';
-- The Atom feed's decisions: the newest decision entries.
CREATE INDEX postulate_history_decisions ON postulate_history (at, id)
    WHERE action IN ('adopt', 'not_adopt', 'reject');
