-- The public's complaints through the web front and its lookup of their answers.
-- `front_complaints`: each online complaint the front filed, with the real client's address, so
-- that a client's complaints in a window are limited (against flooding the office); rows older
-- than the window are deleted as new ones come.
-- `lookup_failures`: failed lookups (complaint number + the contact phone's last 4 digits), counted
-- per complaint and per client address over a window so that the 4 digits cannot be guessed, as
-- intake's `track_failures`; pruned the same way.
CREATE TABLE front_complaints (
    complaint_id bigint PRIMARY KEY REFERENCES complaints (id),
    client text NOT NULL,
    at timestamptz NOT NULL
);
CREATE INDEX front_complaints_client ON front_complaints (client, at);
CREATE INDEX front_complaints_at ON front_complaints (at);

CREATE TABLE lookup_failures (
    id bigserial PRIMARY KEY,
    complaint_id bigint NOT NULL,
    client text NOT NULL,
    at timestamptz NOT NULL
);
CREATE INDEX lookup_failures_at ON lookup_failures (at);
