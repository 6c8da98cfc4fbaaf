-- 建档 covers every case that ends: cases not accepted (decided at once, on receipt) and withdrawn
-- cases (when the withdrawal was recorded) get the archived_at they never had.
UPDATE cases c SET archived_at = c.received_at
 WHERE c.status = 'not_accepted' AND c.archived_at IS NULL;
UPDATE cases c SET archived_at = coalesce(
        (SELECT (h.body::jsonb ->> 'at')::timestamptz FROM history h
          WHERE h.case_number = c.case_number AND h.body::jsonb ->> 'kind' = 'withdrawn'
          ORDER BY h.seq DESC LIMIT 1),
        now())
 WHERE c.status = 'withdrawn' AND c.archived_at IS NULL;
