-- A till's journal grows for years (200 operations a day is 70,000 a year): what the
-- clerk waits for reads through indexes, never the whole table. Today's History and the
-- Z-report by time; one card's entries in order; what settles a reservation; the cards
-- sold against one payment.
CREATE INDEX entries_created ON entries(created_at);
CREATE INDEX entries_card ON entries(card_key, seq);
CREATE INDEX entries_parent ON entries(parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX entries_payment ON entries(json_extract(metadata, '$.dintero_transaction_id'))
    WHERE json_extract(metadata, '$.dintero_transaction_id') IS NOT NULL;
