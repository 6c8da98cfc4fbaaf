-- 乡级代办员: the township agent who carries a village agent's case above the township once it has
-- confirmed the hand-over (intake's CaseAgentsChanged); the case counts for that agent too.
ALTER TABLE cases ADD COLUMN carrier text;
