-- The reliability tables every service schema has (see docs/architecture.md).
-- depends:

CREATE TABLE outbox (
    seq          bigserial PRIMARY KEY,
    id           uuid        NOT NULL UNIQUE,
    event_type   text        NOT NULL,
    envelope     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;

-- One row per message and handler: written in the same transaction as the handler's effect
-- (outcome 'done'), or after the message went to the dead letters (outcome 'dead_lettered').
CREATE TABLE inbox (
    message_id   uuid        NOT NULL,
    handler      text        NOT NULL,
    event_type   text        NOT NULL,
    outcome      text        NOT NULL CHECK (outcome IN ('done', 'dead_lettered')),
    error        text,
    attempts     integer     NOT NULL DEFAULT 1,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, handler)
);
