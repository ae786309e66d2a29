-- People by name: Telegram's first name, last name and @username, so moderators and the
-- coordinating team see "Tomasz Nowak (@tomasz)" instead of an id. Kept only after consent
-- (before it only the chat id and language are stored), refreshed from each update, erased
-- by /forget.
ALTER TABLE users ADD COLUMN first_name TEXT;
ALTER TABLE users ADD COLUMN last_name TEXT;
ALTER TABLE users ADD COLUMN username TEXT;
