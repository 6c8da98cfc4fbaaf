-- Accounts of the persons of the staff register: who they are is in the register (a reference
-- file); their secrets and sign-in state are here.
CREATE TABLE accounts (
    staff_number text PRIMARY KEY,
    password_hash text,                         -- Argon2id; NULL: no password set yet
    must_change boolean NOT NULL DEFAULT true,  -- a first password, set by county IT
    failures integer NOT NULL DEFAULT 0,        -- wrong passwords since the last sign-in
    last_failure_at timestamptz,
    not_before timestamptz NOT NULL DEFAULT now(),  -- credentials issued earlier are not honoured
    password_changed_at timestamptz,
    revoked_at timestamptz,
    revoked_by text,
    revoke_reason text
);

-- Wrong sign-ins by client address, for the per-address limit (pruned past the window).
CREATE TABLE sign_in_failures (
    id bigserial PRIMARY KEY,
    address text NOT NULL,
    at timestamptz NOT NULL
);
CREATE INDEX sign_in_failures_by_address ON sign_in_failures (address, at);
