-- The 代办制's checks (seeds/004). 抽查: a township draws some of its agents' cases of a month at random
-- (the draw keeps its seed: drawn again with it over the same cases, the same cases come out), and whoever
-- checks a drawn case records the finding.
CREATE TABLE spot_check_draws (
    id bigserial PRIMARY KEY,
    request_id text NOT NULL UNIQUE,
    township text NOT NULL,          -- the township centre whose agents' cases were drawn
    month date NOT NULL,             -- the month's first day
    seed bigint NOT NULL,
    pool integer NOT NULL,           -- the cases there were to draw from
    drawn_on date NOT NULL,
    drawn_by jsonb NOT NULL
);
CREATE INDEX spot_check_draws_township ON spot_check_draws (township, month);

CREATE TABLE spot_checks (
    id bigserial PRIMARY KEY,
    draw_id bigint NOT NULL REFERENCES spot_check_draws (id),
    case_number text NOT NULL REFERENCES cases (case_number),
    agent text NOT NULL,
    finding text CHECK (finding IN ('carried_out', 'not_carried_out')),
    note text NOT NULL DEFAULT '',
    checked_on date,
    checked_by jsonb,
    UNIQUE (draw_id, case_number)
);

-- 回访: the concluded cases the supervision (discipline) office chose to call back, by the criteria it
-- noted, and each call's outcome. A case is chosen once.
CREATE TABLE follow_up_calls (
    id bigserial PRIMARY KEY,
    case_number text NOT NULL UNIQUE REFERENCES cases (case_number),
    criteria text NOT NULL DEFAULT '',
    selected_on date NOT NULL,
    selected_by jsonb NOT NULL,
    outcome text,
    called_on date,
    called_by jsonb,
    rating_id bigint REFERENCES ratings (id)  -- the case's bad rating whose rectification the call followed up
);
CREATE INDEX follow_up_calls_open ON follow_up_calls (id) WHERE called_on IS NULL;

-- 无偿代办: a complaint that an agent took a fee (kind agent_fee) names the agent; counted per agent.
ALTER TABLE complaints ADD COLUMN kind text NOT NULL DEFAULT 'service' CHECK (kind IN ('service', 'agent_fee'));
ALTER TABLE complaints ADD COLUMN agent text;
CREATE INDEX complaints_agent ON complaints (agent) WHERE agent IS NOT NULL;
