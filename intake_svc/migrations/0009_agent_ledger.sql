-- The agent's ledger (代办台账, ListAgentCases): an agent's own proxy cases by the time received, wherever
-- they were accepted, keyset-paged as the desk's list is.
CREATE INDEX cases_agent_received ON cases (agent, received_at, case_number) WHERE agent IS NOT NULL;
-- 办结反馈单 (代办事项落实卡): the day the applicant signed for the result of a concluded proxy case, and how
-- (signature or thumbprint), recorded once by the agent; the request id answers the call's retries.
ALTER TABLE cases
    ADD COLUMN card_request_id text,
    ADD COLUMN card_signed_on date,
    ADD COLUMN card_mark text CHECK (card_mark IN ('signature', 'thumbprint'));
