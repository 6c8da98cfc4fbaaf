-- Posts at work: each task is held by a person (A or B of the handler post it went to; NULL: the
-- organisation's pool, which the centre manager is warned of), a decision names who made it and
-- who signed it off, a proposed decision waits for its sign-off chain, and persons' away notices
-- (去向留言) send new work to the B holder while they last. Tasks from before have no holder: they
-- are in their organisation's pool, where the centre manager finds and moves them.
ALTER TABLE tasks
    ADD COLUMN holder text,
    ADD COLUMN post text NOT NULL DEFAULT '',
    ADD COLUMN proposal jsonb,
    ADD COLUMN decided_by jsonb,
    ADD COLUMN signed_off jsonb NOT NULL DEFAULT '[]';
CREATE INDEX tasks_open_holder ON tasks (holder, seq) WHERE status NOT IN ('decided', 'withdrawn');
CREATE INDEX tasks_open_pool ON tasks (organisation, seq)
    WHERE holder IS NULL AND status NOT IN ('decided', 'withdrawn');

CREATE TABLE away_notices (
    staff_number text PRIMARY KEY,
    back_at timestamptz NOT NULL,
    note text NOT NULL,
    set_by jsonb NOT NULL,  -- contracts.Actor: the person, or the centre manager who marked them absent
    set_at timestamptz NOT NULL
);
