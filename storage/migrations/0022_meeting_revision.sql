-- A meeting's revision: 0 when published, one more per saved change or cancellation. The
-- calendar file's SEQUENCE is this number (RFC 5545: it grows by one per revision); it used
-- to be the seconds between creation and the last update, so one edit could make it 12.
ALTER TABLE meetings ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
