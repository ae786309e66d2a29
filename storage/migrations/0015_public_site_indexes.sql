-- The public site's reads, seen by the query-plan check since the site's read-only connection
-- is the same facility as the others (issue 11).
-- The calendar feed of every sector: meetings from a date on, in start order.
CREATE INDEX meetings_start ON meetings (starts_at, id);
-- The Atom feed: the meetings changed most recently.
CREATE INDEX meetings_changed ON meetings (updated_at, id);
