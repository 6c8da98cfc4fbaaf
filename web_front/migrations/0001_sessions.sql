-- The web front's signed-in sessions: the browser holds a random id in a cookie, this table only
-- its SHA-256; the person's credential (short-lived, refreshed while the session is used) stays
-- on the server.
CREATE TABLE sessions (
    id_hash bytea PRIMARY KEY,
    staff_number text NOT NULL,
    person_name text NOT NULL,
    post_id text NOT NULL,
    post_label text NOT NULL,
    organisation_name text NOT NULL,
    credential text NOT NULL,
    credential_expires timestamptz NOT NULL,
    csrf text NOT NULL,
    created_at timestamptz NOT NULL,
    seen_at timestamptz NOT NULL
);
CREATE INDEX sessions_seen ON sessions (seen_at);
