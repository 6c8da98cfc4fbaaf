-- Department handling (承办): cases in handling, one task per department and stage, and each
-- department's feed of new work (positions are gap-free per department: see store.feed).
CREATE TABLE cases (
    case_number text PRIMARY KEY,
    item_code text NOT NULL,
    kind text NOT NULL,
    reported_up boolean NOT NULL,
    plan jsonb NOT NULL,
    stages integer NOT NULL,
    current_stage integer NOT NULL,
    status text NOT NULL,
    result text,
    opened_at timestamptz NOT NULL,
    concluded_at timestamptz
);

CREATE TABLE tasks (
    seq bigserial UNIQUE,
    id text PRIMARY KEY,
    case_number text NOT NULL REFERENCES cases (case_number),
    item_code text NOT NULL,
    stage integer NOT NULL,
    stage_name text NOT NULL,
    department text NOT NULL,
    organisation text NOT NULL,
    role text NOT NULL,
    status text NOT NULL,
    assigned_on date NOT NULL,
    limit_days integer NOT NULL,
    extension_days integer NOT NULL DEFAULT 0,
    pauses jsonb NOT NULL DEFAULT '[]',
    supplement_requested_on date,
    supplement_late boolean NOT NULL DEFAULT false,
    suspended_until date,
    suspension_extension_days integer NOT NULL DEFAULT 0,
    procedure text,
    ask text,
    lead_task_id text,
    round integer NOT NULL DEFAULT 0,
    decision text,
    opinion text,
    legal_basis text,
    documents jsonb NOT NULL DEFAULT '[]',
    decided_at timestamptz
);
CREATE INDEX tasks_case ON tasks (case_number, stage);
CREATE INDEX tasks_department ON tasks (department, seq);

CREATE TABLE feed_heads (
    department text PRIMARY KEY,
    position bigint NOT NULL
);

CREATE TABLE feed (
    department text NOT NULL,
    position bigint NOT NULL,
    task_id text NOT NULL REFERENCES tasks (id),
    reason text NOT NULL,
    at timestamptz NOT NULL,
    PRIMARY KEY (department, position)
);
