-- 咨询: consultations answered without a case, counted in the figures (咨询量, 接待人次).
CREATE TABLE consultations (
    id bigserial PRIMARY KEY,  -- once per event: the inbox marks it handled with the row
    item_code text NOT NULL,
    organisation text NOT NULL,
    channel text NOT NULL,
    answered_on date NOT NULL
);
CREATE INDEX consultations_answered_on ON consultations (answered_on);
