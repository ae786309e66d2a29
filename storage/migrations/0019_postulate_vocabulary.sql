-- Words most postulates use (issue 12): the similar search leaves them out, so bm25 ranks a
-- few postulates instead of nearly every one of the sector. The document frequencies come
-- from the full-text index's vocabulary; reading it whole takes tens of milliseconds at
-- 20,000 postulates, so a housekeeping job copies the common words into a small table that
-- each search looks its words up in by key.
CREATE VIRTUAL TABLE postulates_vocab USING fts5vocab (postulates_fts, 'row');
CREATE TABLE postulate_common_words (
    term TEXT PRIMARY KEY,
    docs INTEGER NOT NULL CHECK (docs > 0)
) WITHOUT ROWID;
