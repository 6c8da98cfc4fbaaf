-- The proxy agent (代办员) who carries each case, from intake's ApplicationAccepted: results come back
-- to the agent too (a department's supplement request, the decision, the pickup), by SMS at the work
-- phones of the persons who hold that agent's post in the staff register. Empty: not a proxy case.
ALTER TABLE contacts ADD COLUMN agent text NOT NULL DEFAULT '';
