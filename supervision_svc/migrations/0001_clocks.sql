-- Electronic supervision (电子监察): a clock per case and per step, the warnings they raise (each
-- once: unique per clock and colour), and supervision suggestions for repeated red warnings.
CREATE TABLE clocks (
    id bigserial PRIMARY KEY,
    case_number text NOT NULL,
    step text NOT NULL,          -- case, task, co_handling, commitment
    ref text NOT NULL,           -- the task id, or '' for the case and its commitment
    department text,
    started_on date NOT NULL,
    limit_days integer NOT NULL,
    extension_days integer NOT NULL DEFAULT 0,
    pauses jsonb NOT NULL DEFAULT '[]',
    paused_by jsonb NOT NULL DEFAULT '[]',  -- what holds the clock (task ids); empty: running
    stopped_on date,
    deadline date,               -- null while paused
    yellow_on date,
    red_on date,
    UNIQUE (case_number, step, ref)
);
CREATE INDEX clocks_due ON clocks (LEAST(yellow_on, red_on)) WHERE stopped_on IS NULL;

CREATE TABLE warnings (
    id bigserial PRIMARY KEY,
    clock_id bigint NOT NULL REFERENCES clocks (id),
    case_number text NOT NULL,
    step text NOT NULL,
    department text,
    colour text NOT NULL CHECK (colour IN ('yellow', 'red')),
    deadline date NOT NULL,
    raised_on date NOT NULL,
    withdrawn_on date,
    UNIQUE (clock_id, colour)
);

CREATE TABLE suggestions (
    department text NOT NULL,
    month text NOT NULL,         -- YYYY-MM
    reds integer NOT NULL,
    raised_on date NOT NULL,
    PRIMARY KEY (department, month)
);
