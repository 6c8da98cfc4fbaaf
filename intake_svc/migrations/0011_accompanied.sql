-- 带领当事人协同办理: the agent who accompanied the applicant to an in-person item (the case is the applicant's
-- own, not a proxy case); it counts for the agent, and the agent's ledger lists it.
ALTER TABLE cases ADD COLUMN accompanied_by text;
CREATE INDEX cases_accompanied_received ON cases (accompanied_by, received_at, case_number)
    WHERE accompanied_by IS NOT NULL;
