-- The centre managers' changes to the duty rota (值班): who is on duty at a centre or a village
-- room on a day, over the rota file. Every change is kept; the latest for a day is in force.
CREATE TABLE duty_changes (
    id bigserial PRIMARY KEY,
    organisation text NOT NULL,
    day date NOT NULL,
    staff_numbers text[] NOT NULL,  -- empty: nobody on duty (a day off)
    reason text NOT NULL,
    set_by text NOT NULL,           -- the manager's staff number
    set_by_name text NOT NULL,
    set_by_post text NOT NULL,
    set_at timestamptz NOT NULL
);
CREATE INDEX duty_changes_by_day ON duty_changes (organisation, day, id);
