-- What archived entries drew on a payment: a card sold (or loaded) against a
-- `dintero_transaction_id` keeps counting against that payment after its entry has left
-- the live journal, so an old payment never looks unused again.
CREATE TABLE payment_uses (
    entry_id        TEXT    PRIMARY KEY,
    transaction_id  TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    amount          INTEGER NOT NULL,
    currency        TEXT    NOT NULL
);
CREATE INDEX payment_uses_by_transaction ON payment_uses(transaction_id);
