-- The case record (受理) and its hash-chained history.
CREATE SEQUENCE case_number_seq;

CREATE TABLE cases (
    case_number text PRIMARY KEY,
    request_id text NOT NULL UNIQUE,
    request_hash text NOT NULL,
    item_code text NOT NULL,
    item_name text NOT NULL,
    kind text NOT NULL,
    status text NOT NULL,
    level text NOT NULL,
    organisation text NOT NULL,
    channel text NOT NULL,
    first_clerk text NOT NULL,
    agent text,
    applicant jsonb NOT NULL,
    application jsonb NOT NULL,
    receipt jsonb NOT NULL,
    provided jsonb NOT NULL,
    received_at timestamptz NOT NULL,
    accepted_on date,
    promised_deadline date,
    commitment_deadline date,
    promised_materials jsonb NOT NULL DEFAULT '[]',
    pending_supplement jsonb,
    result text,
    archived_at timestamptz,
    history_seq integer NOT NULL DEFAULT 0,
    history_head text NOT NULL
);
CREATE INDEX cases_status ON cases (status);

CREATE TABLE history (
    case_number text NOT NULL REFERENCES cases (case_number),
    seq integer NOT NULL,
    body text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL,
    PRIMARY KEY (case_number, seq)
);
