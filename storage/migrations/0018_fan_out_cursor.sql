-- Fan-out in bounded units (issue 12): a 50,000-recipient announcement is turned into
-- deliveries a page at a time, each page its own short transaction. The cursor is the last chat
-- id fanned out (pages go in chat id order); NULL = not begun. An announcement stays
-- 'scheduled' until its last page, so a crash mid-way resumes after the cursor, and
-- UNIQUE (announcement_id, chat_id) keeps a replayed page from making a second copy.
ALTER TABLE announcements ADD COLUMN fanned_through INTEGER;
