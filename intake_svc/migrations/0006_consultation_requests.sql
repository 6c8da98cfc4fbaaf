-- A consultation's request id is the client's idempotency key as a case's is: the digest of the
-- request tells a retried consultation from another request under the same id (NULL: recorded before).
ALTER TABLE consultations ADD COLUMN request_hash text;
