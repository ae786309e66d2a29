-- Scale (issue 12): the indexes that keep every statement the bot runs off a full scan of a
-- growing table at 50,000 members, and the sector inside the similar-postulate search.

-- /forget, /mydata, group relinks: a chat's copies.
CREATE INDEX deliveries_chat ON deliveries (chat_id);
-- Retention deletes settled copies by age; the WHERE is the one delete_old_deliveries uses,
-- so the planner can use this partial index.
CREATE INDEX deliveries_settled ON deliveries (updated_at)
    WHERE state IN ('sent', 'failed', 'blocked', 'unknown', 'expired');
-- /stats counts copies by state per announcement without reading the rows.
CREATE INDEX deliveries_announcement_state ON deliveries (announcement_id, state);

-- /stats: the notices queued this month; /mydata and /forget: a user's notices.
CREATE INDEX announcements_created ON announcements (created_at);
CREATE INDEX announcements_audience ON announcements (audience, audience_id);
CREATE INDEX announcements_created_by ON announcements (created_by) WHERE created_by IS NOT NULL;

-- /mydata and /forget: a person's co-signatures and review steps.
CREATE INDEX postulate_supports_user ON postulate_supports (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX postulate_supports_key ON postulate_supports (supporter_key);
CREATE INDEX postulate_history_actor ON postulate_history (actor_id) WHERE actor_id IS NOT NULL;

-- /mydata: what a moderator scheduled, which audit entries name a person, progress messages.
CREATE INDEX meetings_created_by ON meetings (created_by);
CREATE INDEX meeting_series_created_by ON meeting_series (created_by);
CREATE INDEX audit_log_target ON audit_log (target);
CREATE INDEX broadcasts_progress_chat ON broadcasts (progress_chat_id)
    WHERE progress_chat_id IS NOT NULL;
CREATE INDEX moderator_invites_created_by ON moderator_invites (created_by);
CREATE INDEX moderator_invites_used_by ON moderator_invites (used_by) WHERE used_by IS NOT NULL;

-- Retention: who became inactive, and since when.
CREATE INDEX users_inactive ON users (id) WHERE active = 0;
CREATE INDEX user_inactivity_since ON user_inactivity (inactive_since);

-- The digest run: news held before a given time.
CREATE INDEX digest_items_created ON digest_items (created_at, user_id);

-- Similar postulates: the sector is a column of the full-text index, so the match is made
-- inside one sector (`team_id : 3 AND (...)`) instead of over every postulate and filtered
-- after. Moving a postulate to another sector updates it.
DROP TRIGGER postulates_fts_insert;
DROP TRIGGER postulates_fts_delete;
DROP TRIGGER postulates_fts_update;
DROP TABLE postulates_fts;
CREATE VIRTUAL TABLE postulates_fts USING fts5 (
    title, content, team_id, content = 'postulates', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO postulates_fts (postulates_fts) VALUES ('rebuild');
CREATE TRIGGER postulates_fts_insert AFTER INSERT ON postulates BEGIN
    INSERT INTO postulates_fts (rowid, title, content, team_id)
    VALUES (new.id, new.title, new.content, new.team_id);
END;
CREATE TRIGGER postulates_fts_delete AFTER DELETE ON postulates BEGIN
    INSERT INTO postulates_fts (postulates_fts, rowid, title, content, team_id)
    VALUES ('delete', old.id, old.title, old.content, old.team_id);
END;
CREATE TRIGGER postulates_fts_update AFTER UPDATE OF title, content, team_id ON postulates BEGIN
    INSERT INTO postulates_fts (postulates_fts, rowid, title, content, team_id)
    VALUES ('delete', old.id, old.title, old.content, old.team_id);
    INSERT INTO postulates_fts (rowid, title, content, team_id)
    VALUES (new.id, new.title, new.content, new.team_id);
END;

-- The coordinating team's decision queue (a state in every sector) and exports by date.
CREATE INDEX postulates_state ON postulates (state, created_at);
CREATE INDEX postulates_created ON postulates (created_at);

-- /stats: subscribers per sector and those who joined this month, from the index alone.
CREATE INDEX subscriptions_team_since ON subscriptions (team_id, created_at);
CREATE INDEX subscription_ends_team_subscribed ON subscription_ends (team_id, subscribed_at);
