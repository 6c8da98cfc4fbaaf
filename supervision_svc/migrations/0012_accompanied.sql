-- 带领当事人协同办理: the agent who accompanied the applicant to an in-person item (intake's
-- ApplicationAccepted names it); the case counts for that agent as a carried one does.
ALTER TABLE cases ADD COLUMN accompanied_by text;
