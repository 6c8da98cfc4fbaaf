-- depends:
CREATE TABLE entries (
    message_id uuid PRIMARY KEY,
    amount     integer NOT NULL
);
