-- 督办: the supervision office's instruction on a warning and the warned department's reply.
-- The reply has a clock of its own (step 'instruction', ref the warning's id), so a late reply
-- warns like a late case.
ALTER TABLE warnings
    ADD COLUMN instruction text,
    ADD COLUMN instructed_on date,
    ADD COLUMN reply_by date,
    ADD COLUMN reply text,
    ADD COLUMN replied_on date;
