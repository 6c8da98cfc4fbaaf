-- The organisation that accepted each case: the responsible window (首问负责制) an applicant's
-- notices name, with its public phone from the org chart. A case recorded before it has none, and
-- its notices name no window rather than a wrong one.
ALTER TABLE contacts ADD COLUMN organisation text NOT NULL DEFAULT '';
