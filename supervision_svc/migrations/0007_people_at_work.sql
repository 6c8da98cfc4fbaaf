-- Posts at work: every act of supervision names who did it, and the acts supervision counts name
-- the window and the person that did them, for the figures by window and by person and the
-- monthly assessment (考核, 红旗窗口).
--
-- Who did an act of supervision: an Actor as JSON ({person, name, post, organisation, holder}; a
-- system token names its holder only). NULL while the act is not done, and for acts done before
-- this release (no one was recorded then).
ALTER TABLE warnings ADD COLUMN instructed_by jsonb, ADD COLUMN replied_by jsonb;
ALTER TABLE complaints ADD COLUMN registered_by jsonb, ADD COLUMN answered_by jsonb;
ALTER TABLE rectifications
    ADD COLUMN resolved_by jsonb,
    ADD COLUMN followed_up_by jsonb,
    ADD COLUMN appealed_by jsonb,
    ADD COLUMN reviewed_by jsonb,
    ADD COLUMN post text NOT NULL DEFAULT '';  -- the post whose act was rated: the item goes to it

-- The acceptance: its first clerk's post (first_clerk is the signed-in clerk's staff number).
ALTER TABLE cases ADD COLUMN first_clerk_post text NOT NULL DEFAULT '';

-- A task's window or back office, and its decision: by whom (staff number, '' for a department's
-- system), at which post, on which day, within the task's limit or not. Written in the rows the
-- stage's opening and the decision write anyway. Tasks decided before this release have no
-- decided_on: they are counted in the figures overall, not by window or person.
ALTER TABLE clocks
    ADD COLUMN organisation text,
    ADD COLUMN decided_by text,
    ADD COLUMN decided_post text NOT NULL DEFAULT '',
    ADD COLUMN decided_on date,
    ADD COLUMN on_time boolean;
CREATE INDEX clocks_decided ON clocks (decided_on) WHERE decided_on IS NOT NULL;

-- Whose act a rating rates: the window and the person it counts for, the post that rectifies.
ALTER TABLE ratings
    ADD COLUMN by_organisation text NOT NULL DEFAULT '',
    ADD COLUMN by_person text NOT NULL DEFAULT '',
    ADD COLUMN by_post text NOT NULL DEFAULT '';
-- Ratings of an acceptance or of a whole case before this release: the first-contact window and
-- clerk (the clerk's code as it was recorded then); a task's rating had no deciding person.
UPDATE ratings g SET by_organisation = c.organisation, by_person = c.first_clerk
    FROM cases c WHERE c.case_number = g.case_number AND g.act IN ('', 'acceptance');
