-- The audit log (see services/auditlog.py): one hash chain per service schema, appended in the
-- transaction of the act it records. Entries are never changed; the oldest are deleted only by
-- pruning, which moves the anchor in audit_head to the last entry it deleted so that the rest
-- still verifies.
-- depends: 0000_kernel_outbox_inbox

CREATE TABLE audit_log (
    seq          bigint      PRIMARY KEY,  -- gapless: audit_head.last_seq + 1, under the head's lock
    at           timestamptz NOT NULL,
    action       text        NOT NULL,     -- `desk.Claim`, `identity.SignIn`, …
    result       text        NOT NULL,     -- `OK` or a gRPC status name
    person       text        NOT NULL,     -- staff number; '' for a system
    post         text        NOT NULL,
    organisation text        NOT NULL,
    holder       text        NOT NULL,     -- the system token's holder code when no person
    client       text        NOT NULL,     -- client address
    target       text        NOT NULL,     -- case number, task id, staff number …
    detail       text        NOT NULL,
    prev_hash    text        NOT NULL,
    hash         text        NOT NULL
);

-- One row: where the chain ends (appends lock it, which orders them) and where it starts (the
-- last pruned entry; the genesis hash of zeros before any pruning).
CREATE TABLE audit_head (
    one         boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_seq    bigint  NOT NULL,
    last_hash   text    NOT NULL,
    anchor_seq  bigint  NOT NULL,
    anchor_hash text    NOT NULL
);
INSERT INTO audit_head (last_seq, last_hash, anchor_seq, anchor_hash)
VALUES (0, repeat('0', 64), 0, repeat('0', 64));

-- Append-only: no UPDATE ever, no TRUNCATE, and DELETE only where the pruning transaction said so
-- (set_config('onewindow.audit_prune', 'on', true)); the head row is only ever updated. Someone
-- with the rights to disable triggers can still tamper: the chain is what shows it.
CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('onewindow.audit_prune', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% on % refused: the audit log is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_head_kept BEFORE DELETE OR TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();
