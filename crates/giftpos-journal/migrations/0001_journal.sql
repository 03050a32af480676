-- The journal: one row per operation the terminal performs, written before anything is
-- sent. Rows of `entries` are never updated except to scrub `card_token`; what changes
-- while an entry syncs lives in `entry_state`.
CREATE TABLE entries (
    seq        INTEGER PRIMARY KEY,      -- per-terminal sequence: 1, 2, 3, …
    id         TEXT    NOT NULL UNIQUE,  -- client-generated operation id
    terminal_id TEXT   NOT NULL,
    kind       TEXT    NOT NULL,         -- activate | top_up | redeem | capture | void | refund
    card_key   TEXT    NOT NULL,         -- groups one card's entries (keyed hash of the token)
    card_masked TEXT   NOT NULL,
    card_token TEXT,                     -- the printed token until the entry is confirmed
    amount     INTEGER NOT NULL,
    currency   TEXT    NOT NULL,
    clerk      TEXT,
    metadata   TEXT    NOT NULL,         -- JSON object
    ref_id     TEXT,                     -- sent as Dintero's ref_id (none for activation)
    parent_id  TEXT REFERENCES entries(id), -- capture/void: the redemption they settle
    created_at TEXT    NOT NULL,
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL
);
CREATE TABLE entry_state (
    entry_id   TEXT PRIMARY KEY REFERENCES entries(id),
    state      TEXT    NOT NULL,         -- recorded | sent | confirmed | refused | needs_attention
    reason     TEXT,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    card_id    TEXT,
    server_transaction_id TEXT,
    balance_after INTEGER,
    last_error TEXT,
    updated_at TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX entry_state_open ON entry_state(state) WHERE state IN ('recorded', 'sent', 'needs_attention');

-- Last known balance per card, for the offline balance view.
CREATE TABLE card_cache (
    card_key   TEXT PRIMARY KEY,
    card_id    TEXT NOT NULL,
    card_masked TEXT NOT NULL,
    status     TEXT NOT NULL,
    available  INTEGER,
    currency   TEXT,
    fetched_at TEXT NOT NULL
);

-- The chain's head (count and last hash), and the terminal's key for card_key.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
