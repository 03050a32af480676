-- Archives: prefixes of the chain moved to files (`giftpos journal archive`). The first
-- live entry follows the last archive's last hash; `verify` reads them all.
CREATE TABLE archives (
    first_seq       INTEGER PRIMARY KEY,
    last_seq        INTEGER NOT NULL,
    first_prev_hash TEXT    NOT NULL,
    last_hash       TEXT    NOT NULL,
    file            TEXT    NOT NULL,
    created_at      TEXT    NOT NULL
);
