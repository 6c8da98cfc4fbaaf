-- The monthly 通报 as issued: the PDF the web front rendered and the office issued, with the summary
-- of its figures, who issued it and when. A month issued again is a new version; the ones before stay
-- (an issued document is corrected by another, never changed). The same request again is the same row.
CREATE TABLE bulletins (
    id bigserial PRIMARY KEY,
    request_id text NOT NULL UNIQUE,
    month text NOT NULL,             -- YYYY-MM
    version integer NOT NULL,        -- 1, 2, … within the month
    pdf bytea NOT NULL,
    summary text NOT NULL DEFAULT '',
    issued_at timestamptz NOT NULL,
    issued_by jsonb NOT NULL,
    UNIQUE (month, version)
);
