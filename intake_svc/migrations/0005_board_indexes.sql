-- The hall board (GetBoard), polled every few seconds, reads the cases open (cases_status), accepted
-- today or archived today: with these two indexes it reads those rows only, not the whole table.
CREATE INDEX cases_accepted_on ON cases (accepted_on);
CREATE INDEX cases_archived_at ON cases (archived_at);
