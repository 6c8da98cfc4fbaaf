-- 收费: the fee of a case, collected once with its receipt (收费票据), from intake's FeeCollected;
-- counted in the figures by the day it was collected. One row a case: a fee delivered twice, or
-- published again, is recorded once.
CREATE TABLE fees (
    case_number text PRIMARY KEY,
    item_code text NOT NULL,
    department text,                 -- the item's department when the fee was recorded
    organisation text NOT NULL,      -- where it was collected
    amount_fen bigint NOT NULL,      -- in fen (分)
    receipt_number text NOT NULL,
    collected_on date NOT NULL,
    collected_by jsonb               -- who collected it (an Actor); NULL when the event named no one
);
CREATE INDEX fees_collected_on ON fees (collected_on);
