-- A Dintero Checkout payment that a gift card paid part of (split tender): how much
-- came from the card, and how the rest was paid (Dintero's payment product type), as
-- Dintero's transaction says once the payment is taken.
ALTER TABLE entry_state ADD COLUMN gift_card_part INTEGER;
ALTER TABLE entry_state ADD COLUMN paid_with TEXT;
