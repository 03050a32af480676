-- Failures where Dintero answered but the entry could not complete (an unreadable
-- answer, a server error, rate limiting): counted apart from attempts, which also grow
-- while the terminal is simply offline. Sync bounds these (count and age since the
-- first) and then hands the entry to a manager.
ALTER TABLE entry_state ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE entry_state ADD COLUMN first_failure_at TEXT;
