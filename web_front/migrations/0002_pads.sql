-- The rating pads (评价器): tablets paired by county IT to one accepting organisation (a window,
-- an acceptance desk, a village room). IT makes a pad with a one-time pairing code; the tablet's
-- browser then holds a random device key in a cookie, this table only its SHA-256.
CREATE TABLE pads (
    id bigserial PRIMARY KEY,
    organisation text NOT NULL,
    name text NOT NULL,
    pairing_code_hash bytea,           -- until paired; NULL once used
    pairing_expires timestamptz,
    device_hash bytea UNIQUE,          -- the paired browser's key
    paired_at timestamptz,
    made_by text NOT NULL,
    made_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX pads_organisation ON pads (organisation) WHERE revoked_at IS NULL;

-- A clerk's invitation to rate the act just done (邀请评价): the organisation's pads show it until
-- it is rated, replaced by the next invitation or expired. The rating itself is supervision's.
CREATE TABLE pad_invitations (
    id bigserial PRIMARY KEY,
    organisation text NOT NULL,
    case_number text NOT NULL,
    act text NOT NULL,                 -- "acceptance" or a task id, as supervision's Rate names it
    invited_by text NOT NULL,          -- the clerk's staff number
    invited_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    closed_at timestamptz,             -- rated, or replaced by a newer invitation
    level int,                         -- the rating given, once rated
    rated_by_pad bigint REFERENCES pads (id)
);
CREATE INDEX pad_invitations_open ON pad_invitations (organisation, id DESC) WHERE closed_at IS NULL;
