-- The last answer Dintero gave that could not be read, per operation (`wallets.info`,
-- …): kept until a readable answer to the same operation clears it, so the doctor and
-- the metrics can name it after the clerk saw the error (and in another process).
CREATE TABLE unreadable_answers (
    op    TEXT PRIMARY KEY,
    what  TEXT NOT NULL,
    at    TEXT NOT NULL
);
