-- 咨询: a consultation answered at a window or online leaves a record (no case number), so that
-- 咨询量 and 接待人次 can be counted. The client's request id makes a resubmission one record.
CREATE TABLE consultations (
    id bigserial PRIMARY KEY,
    request_id text NOT NULL UNIQUE,
    item_code text NOT NULL,
    organisation text NOT NULL,
    channel text NOT NULL,
    first_clerk text NOT NULL,
    agent text,
    answered_at timestamptz NOT NULL
);
