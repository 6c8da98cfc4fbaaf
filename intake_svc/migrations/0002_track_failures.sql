-- Failed attempts of the public Track (case number + the applicant's phone digits): counted per
-- case number and per client address over a window, so that the 4 digits cannot be guessed.
CREATE TABLE track_failures (
    id bigserial PRIMARY KEY,
    case_number text NOT NULL,
    peer text NOT NULL,
    at timestamptz NOT NULL
);
CREATE INDEX track_failures_at ON track_failures (at);
