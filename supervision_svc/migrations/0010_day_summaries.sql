-- 当日汇总报值班领导签字: a centre's day summed up and signed by its leader on duty, once a day and
-- centre; who signed (an Actor as JSON), when, and the figures as they stood when signed.
CREATE TABLE day_summaries (
    day date NOT NULL,
    centre text NOT NULL,
    signed_by jsonb NOT NULL,
    signed_at timestamptz NOT NULL,
    figures jsonb NOT NULL,
    PRIMARY KEY (day, centre)
);
