-- 一次性收费: the fee collected on a case, once, with the fee receipt's number (收费票据) and the reason of
-- a reduction (减免); the request id of the call that recorded it answers its retries. In fen (分).
ALTER TABLE cases
    ADD COLUMN fee_request_id text,
    ADD COLUMN fee_collected_fen bigint CHECK (fee_collected_fen > 0),
    ADD COLUMN fee_receipt_number text,
    ADD COLUMN fee_reduction_reason text,
    ADD COLUMN fee_collected_at timestamptz;
