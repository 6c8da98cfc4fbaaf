-- The worklist at scale: an open task's deadline as a sort key (the clock's deadline on the county
-- calendar; 9999-12-31 while its clock is paused, so paused tasks come after every deadline), kept
-- by the store on every write; NULL for a task no longer open, which leaves the partial indexes.
-- Open tasks written before this migration get theirs when the desk API starts (use_cases.fill_due).
-- Parallel-approval projects by item, for their lead department's view.
ALTER TABLE tasks ADD COLUMN due_on date;
CREATE INDEX tasks_open_due ON tasks (department, organisation, due_on, id)
    WHERE status NOT IN ('decided', 'withdrawn');
CREATE INDEX cases_item ON cases (item_code, case_number);
