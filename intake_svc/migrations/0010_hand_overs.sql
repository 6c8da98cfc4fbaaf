-- The village → township hand-over (乡级代办员): the township agent a village agent handed a county matter to
-- (until it confirms) and the one carrying it since; the note that went with the file. The ledger lists an
-- agent's cases as agent, carrier or receiver, each through an index.
ALTER TABLE cases
    ADD COLUMN carrier text,
    ADD COLUMN handover_to text,
    ADD COLUMN handover_note text;
CREATE INDEX cases_carrier_received ON cases (carrier, received_at, case_number) WHERE carrier IS NOT NULL;
CREATE INDEX cases_handover_to ON cases (handover_to) WHERE handover_to IS NOT NULL;
