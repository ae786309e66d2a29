-- Prompts whose conversation expired (a flow's timeout, an idle postulate draft): their
-- buttons are removed by the delivery engine's after-settle hook (handlers/prompts.py), outside
-- the transaction that expired them; a row goes once its message was seen to. Conversations
-- run in private chats, so the chat is the user's.
CREATE TABLE stale_prompts (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
-- Seen to oldest first, a batch at a time.
CREATE INDEX stale_prompts_oldest ON stale_prompts (created_at);
-- /mydata and /forget find a member's rows.
CREATE INDEX stale_prompts_user ON stale_prompts (user_id);
