-- What supervision knows of each case (for the monthly figures and for who may rate it), the
-- non-time faults it found, ratings (好差评) with their rectification items, and complaints (投诉).
-- Rectification items and complaints have clocks of their own (steps 'rectification' and
-- 'complaint'), so they warn like cases; those clocks belong to no case.
ALTER TABLE clocks ALTER COLUMN case_number DROP NOT NULL;
ALTER TABLE warnings ALTER COLUMN case_number DROP NOT NULL;

CREATE TABLE cases (
    case_number text PRIMARY KEY,
    item_code text NOT NULL,
    department text NOT NULL,        -- the item's department (decides, or coordinates the stages)
    kind text NOT NULL,              -- immediate, promised, joint, reported
    level text NOT NULL,             -- where it was accepted: village, township, county
    channel text NOT NULL,
    organisation text NOT NULL,      -- the accepting organisation
    first_clerk text NOT NULL,       -- 首问负责人
    agent text,
    applicant_key text,              -- a digest of applicant and item, to find a case accepted twice
    project_code text,
    accepted_on date NOT NULL,
    promised_limit_days integer NOT NULL,
    legal_limit_days integer NOT NULL,
    beyond_township boolean,         -- decided at the county or above (a written progress notice is due)
    on_site boolean,                 -- decided by windows stationed in a centre
    progress_due_on date,
    progress_noticed_on date,
    concluded_on date,
    result text,
    days_used integer,
    limit_days integer,              -- the limit at conclusion, extensions included
    on_time boolean
);
CREATE INDEX cases_accepted ON cases (accepted_on);
CREATE INDEX cases_concluded ON cases (concluded_on);
CREATE INDEX cases_applicant ON cases (applicant_key) WHERE concluded_on IS NULL;
CREATE INDEX cases_progress ON cases (progress_due_on) WHERE progress_noticed_on IS NULL AND concluded_on IS NULL;

-- Every application answered at a window without a case: not accepted, or a one-time notice.
CREATE TABLE answers (
    id bigserial PRIMARY KEY,
    case_number text NOT NULL,
    item_code text NOT NULL,
    organisation text NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('not_accepted', 'notice')),
    reasons jsonb NOT NULL DEFAULT '[]',
    answered_on date NOT NULL
);

CREATE TABLE faults (
    id bigserial PRIMARY KEY,
    case_number text NOT NULL,
    kind text NOT NULL,              -- accepted_twice, late_transfer, no_legal_basis
    ref text NOT NULL DEFAULT '',
    department text,
    detail text NOT NULL,
    found_on date NOT NULL,
    UNIQUE (case_number, kind, ref)
);

CREATE TABLE ratings (
    id bigserial PRIMARY KEY,
    request_id text NOT NULL UNIQUE,
    case_number text NOT NULL REFERENCES cases (case_number),
    channel text NOT NULL CHECK (channel IN ('on_site', 'online')),
    act text NOT NULL,               -- '' (the whole case, online), 'acceptance', or a task id
    level integer NOT NULL CHECK (level BETWEEN 1 AND 5),
    comment text NOT NULL DEFAULT '',
    named boolean NOT NULL,          -- the rater left a name: a bad rating gets a follow-up call
    department text,                 -- who answers for it (谁办理谁负责)
    organisation text NOT NULL,
    rated_on date NOT NULL,
    voided_on date,                  -- an appeal found it wrongly given
    UNIQUE (case_number, channel, act)
);
CREATE INDEX ratings_rated ON ratings (rated_on);

CREATE TABLE rectifications (
    rating_id bigint PRIMARY KEY REFERENCES ratings (id),
    department text,
    organisation text NOT NULL,
    opened_on date NOT NULL,
    resolution text CHECK (resolution IN ('fixed', 'ledger', 'explained', 'voided')),
    note text NOT NULL DEFAULT '',
    resolved_on date,
    follow_up text,                  -- 回访: what the applicant said when called back
    followed_up_on date,
    appeal text,                     -- 申诉: why the department holds the rating wrongly given
    appealed_on date,
    appeal_upheld boolean,
    reviewed_on date
);

CREATE TABLE complaints (
    id bigserial PRIMARY KEY,
    request_id text NOT NULL UNIQUE,
    channel text NOT NULL CHECK (channel IN ('phone', 'letter', 'mailbox', 'online')),
    case_number text REFERENCES cases (case_number),
    department text NOT NULL,
    text text NOT NULL,
    contact jsonb,
    registered_on date NOT NULL,
    answer text,
    answered_on date
);
CREATE INDEX complaints_registered ON complaints (registered_on);
