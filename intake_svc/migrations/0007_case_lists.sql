-- The desk's list of its own cases (ListCases), newest first and keyset-paged: an organisation's cases by
-- the time received, and those waiting for the applicant's materials apart (a few among many), so that a
-- page reads its rows only, however many cases the organisation has had. The predicate is the one
-- intake_svc/store.py WAITING writes.
CREATE INDEX cases_organisation_received ON cases (organisation, received_at, case_number);
CREATE INDEX cases_waiting ON cases (organisation, received_at, case_number)
    WHERE (status IN ('supplement_required', 'waiting_supplement') OR (status IN ('accepted',
           'accepted_with_commitment', 'in_handling') AND promised_materials <> '[]'::jsonb));
