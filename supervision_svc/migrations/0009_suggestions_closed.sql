-- 督办建议 (监察建议): the supervision office reviews each suggestion and closes it with a note of what
-- was reviewed and decided, by whom (an Actor as JSON) and on which day. An id to name one by
-- (filled for the rows already written); NULL closed_on: still open.
ALTER TABLE suggestions
    ADD COLUMN id bigserial UNIQUE,
    ADD COLUMN closed_on date,
    ADD COLUMN note text,
    ADD COLUMN closed_by jsonb;
