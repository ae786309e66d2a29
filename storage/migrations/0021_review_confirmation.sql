-- A review action is confirmed before it reaches the author: the typed reason waits in the
-- prompt until "Confirm", and the prompt's message is remembered so its keyboard can be
-- removed once the next step is shown (no old button stays live).
ALTER TABLE postulate_prompts ADD COLUMN note TEXT CHECK (note IS NULL OR length(note) <= 4000);
ALTER TABLE postulate_prompts ADD COLUMN message_id INTEGER;
-- The draft's current prompt: a step edits it in place (content parts update one running
-- prompt) and the next one removes its keyboard.
ALTER TABLE postulate_drafts ADD COLUMN prompt_message_id INTEGER;
