-- Notices (回复): who to reach for each case, and one row per notice and channel with its
-- delivery state. A notice is sent at least once and recorded once: (event, notice, channel,
-- recipient) is unique, so a redelivered event plans nothing new.
CREATE TABLE contacts (
    case_number text PRIMARY KEY,
    item_code text NOT NULL,
    name text NOT NULL,
    phone text NOT NULL,
    email text NOT NULL DEFAULT ''
);

CREATE TABLE deliveries (
    id bigserial PRIMARY KEY,
    event_id uuid NOT NULL,
    case_number text,
    notice text NOT NULL,
    channel text NOT NULL,
    recipient text NOT NULL,
    subject text NOT NULL,
    body text NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    next_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    UNIQUE (event_id, notice, channel, recipient)
);
CREATE INDEX deliveries_due ON deliveries (next_at) WHERE status IN ('pending', 'sending');
