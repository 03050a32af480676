-- A Checkout capture or refund Dintero accepted (202) but has not finished: the
-- `event-request-id` it answered, so its outcome is found by the event carrying it as
-- `correlation_request_id` (the spec's link; `event_reference` is not promised on every
-- event), and nothing is sent again while it is unresolved.
ALTER TABLE entry_state ADD COLUMN accepted_request TEXT;
