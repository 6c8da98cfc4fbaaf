"""Is each service's store whole? Read in one snapshot per schema while the bus processes go on:
every case's history chain intact, every change written with its outgoing event and no event
without its change, each row's parts agreeing (a decided task has its decision, a resolved
rectification its stopped clock). Each function returns the problems found; none is a pass.

Unlike tooling.audit, which checks the books of a drained system (every case concluded once),
these hold at any moment, whatever is still in flight: a half-written transaction breaks them."""
from __future__ import annotations

import collections
from contextlib import contextmanager

import psycopg

from intake_svc.history import Entry, verify


@contextmanager
def _snapshot(running, schema: str):
    """Queries on one consistent view of a schema."""
    with psycopg.connect(running.settings.database_url, options=f"-c search_path={schema}") as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            yield lambda query, params=(): conn.execute(query, params).fetchall()


def intake_problems(running) -> list[str]:
    with _snapshot(running, "intake") as sql:
        entries = collections.defaultdict(list)
        for number, seq, body, prev, digest in sql("SELECT case_number, seq, body, prev_hash, hash FROM history "
                                                   "ORDER BY case_number, seq"):
            entries[number].append(Entry(seq, body, prev, digest))
        problems = [f"intake: history of {number}: {p}"
                    for number, seq, head in sql("SELECT case_number, history_seq, history_head FROM cases")
                    for p in verify(number, entries[number], seq, head)]
        # each acceptance, notice, refusal and withdrawal is in the history once per event sent out
        problems += [f"intake: {c}: {kind} ×{h} in the history, {event} ×{o} in the outbox"
                     for c, kind, event, h, o in sql("""
            WITH pairs(kind, event) AS (VALUES ('accepted', 'ApplicationAccepted'),
                    ('one_time_notice', 'SupplementNoticeIssued'), ('not_accepted', 'ApplicationRejected'),
                    ('withdrawn', 'ApplicationWithdrawn')),
                 h AS (SELECT case_number, body::jsonb->>'kind' AS kind, count(*) AS n FROM history GROUP BY 1, 2),
                 o AS (SELECT envelope->>'case_number' AS case_number, event_type, count(*) AS n FROM outbox
                       GROUP BY 1, 2)
            SELECT c.case_number, p.kind, p.event, coalesce(h.n, 0), coalesce(o.n, 0)
            FROM cases c CROSS JOIN pairs p
                 LEFT JOIN h ON h.case_number = c.case_number AND h.kind = p.kind
                 LEFT JOIN o ON o.case_number = c.case_number AND o.event_type = p.event
            WHERE coalesce(h.n, 0) <> coalesce(o.n, 0)""")]
        # no event of a case that is not there: a refused request's (a consultation has no case)
        problems += [f"intake: {event} of unknown case {c}" for event, c in sql(
            "SELECT event_type, envelope->>'case_number' FROM outbox o WHERE event_type <> 'ConsultationAnswered' "
            "AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.case_number = o.envelope->>'case_number')")]
        # one ConsultationAnswered per consultation recorded, and none without its record
        problems += [f"intake: {n} consultation(s) recorded, {e} ConsultationAnswered sent" for n, e in sql(
            "SELECT (SELECT count(*) FROM consultations), (SELECT count(*) FROM outbox "
            "WHERE event_type = 'ConsultationAnswered') WHERE (SELECT count(*) FROM consultations) <> "
            "(SELECT count(*) FROM outbox WHERE event_type = 'ConsultationAnswered')")]
        # a case's status is one its events say it reached
        problems += [f"intake: {c} is {status} without {event}" for c, status, event in sql("""
            SELECT c.case_number, c.status, e.event FROM cases c JOIN (VALUES
                ('accepted', 'ApplicationAccepted'), ('accepted_with_commitment', 'ApplicationAccepted'),
                ('in_handling', 'ApplicationAccepted'), ('waiting_supplement', 'ApplicationAccepted'),
                ('not_accepted', 'ApplicationRejected'), ('supplement_required', 'SupplementNoticeIssued'),
                ('withdrawn', 'ApplicationWithdrawn')) AS e(status, event) ON e.status = c.status
            WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.envelope->>'case_number' = c.case_number
                              AND o.event_type = e.event)""")]
    return problems


def approval_problems(running) -> list[str]:
    def events(kind: str) -> str:
        return (f"(SELECT count(*) FROM outbox o WHERE o.event_type = '{kind}' "
                f"AND o.envelope->'payload'->>'task_id' = t.id)")
    with _snapshot(running, "approval") as sql:
        problems = [f"approval: task {t} is {s}, decision {d!r}, TaskDecided ×{n}" for t, s, d, n in sql(f"""
            SELECT t.id, t.status, t.decision, {events('TaskDecided')} FROM tasks t
            WHERE (t.decision IS NOT NULL) <> ({events('TaskDecided')} = 1)
               OR (t.status = 'decided') <> (t.decision IS NOT NULL AND t.opinion IS NOT NULL
                                             AND t.legal_basis IS NOT NULL AND t.decided_at IS NOT NULL)""")]
        problems += [f"approval: task {t} asked for material on {on}, SupplementRequested ×{n}" for t, on, n in sql(f"""
            SELECT t.id, t.supplement_requested_on, {events('SupplementRequested')} FROM tasks t
            WHERE (t.supplement_requested_on IS NOT NULL) <> ({events('SupplementRequested')} = 1)""")]
        # a task is paused by a special procedure or a suspension exactly while its events say so
        problems += [f"approval: task {t} is {s} after {p} pauses and {r} resumptions" for t, s, p, r in sql(f"""
            SELECT t.id, t.status, {events('TaskPaused')}, r.n FROM tasks t, LATERAL (
                SELECT count(*) AS n FROM outbox o WHERE o.event_type = 'TaskResumed'
                AND o.envelope->'payload'->>'task_id' = t.id
                AND o.envelope->'payload'->>'reason' IN ('special_procedure', 'suspension')) r
            WHERE t.status <> 'withdrawn' AND (
                {events('TaskPaused')} - r.n
                    <> CASE WHEN t.status IN ('special_procedure', 'suspended') THEN 1 ELSE 0 END
                OR (t.status = 'special_procedure') <> (t.procedure IS NOT NULL)
                OR (t.status = 'suspended') <> (t.suspended_until IS NOT NULL))""")]
        problems += [f"approval: co-handling task {t} asked ×{n}" for t, n in sql("""
            SELECT t.id, (SELECT count(*) FROM outbox o, jsonb_array_elements(o.envelope->'payload'->'asks') a
                          WHERE o.event_type = 'CoHandlingRequested' AND a->>'task_id' = t.id) AS n
            FROM tasks t WHERE t.role = 'co_handling'
            AND (SELECT count(*) FROM outbox o, jsonb_array_elements(o.envelope->'payload'->'asks') a
                 WHERE o.event_type = 'CoHandlingRequested' AND a->>'task_id' = t.id) <> 1""")]
        problems += [f"approval: {event} of unknown task {t}" for event, t in sql("""
            SELECT o.event_type, coalesce(o.envelope->'payload'->>'task_id', a->>'task_id') FROM outbox o
            LEFT JOIN LATERAL jsonb_array_elements(CASE WHEN o.event_type = 'CoHandlingRequested'
                THEN o.envelope->'payload'->'asks' ELSE '[]' END) a ON true
            WHERE o.event_type IN ('TaskDecided', 'SupplementRequested', 'TaskPaused', 'TaskResumed',
                                   'CoHandlingRequested')
              AND NOT EXISTS (SELECT 1 FROM tasks t
                              WHERE t.id = coalesce(o.envelope->'payload'->>'task_id', a->>'task_id'))""")]
        problems += [f"approval: case {c} is {s} with result {r!r}, CaseConcluded ×{n}" for c, s, r, n in sql("""
            SELECT c.case_number, c.status, c.result, n FROM cases c, LATERAL (
                SELECT count(*) AS n FROM outbox o WHERE o.event_type = 'CaseConcluded'
                AND o.envelope->>'case_number' = c.case_number) e
            WHERE (c.status = 'concluded') <> (n = 1) OR (c.status = 'concluded') <> (c.result IS NOT NULL)""")]
        # every department's feed runs 1, 2, … to its head without a gap
        problems += [f"approval: feed of {d} has {n} entries up to {top}, head {head}" for d, n, top, head in sql("""
            SELECT h.department, count(f.position), max(f.position), h.position FROM feed_heads h
            LEFT JOIN feed f USING (department) GROUP BY h.department, h.position
            HAVING count(f.position) <> h.position OR max(f.position) <> h.position""")]
    return problems


def supervision_problems(running) -> list[str]:
    with _snapshot(running, "supervision") as sql:
        problems = [f"supervision: rating {g} of level {lv}, rectification {r}" for g, lv, r in sql("""
            SELECT g.id, g.level, r.rating_id FROM ratings g LEFT JOIN rectifications r ON r.rating_id = g.id
            WHERE (g.level <= 2) <> (r.rating_id IS NOT NULL)""")]
        problems += [f"supervision: rectification {r}: {n} clocks, resolved {on}, stopped {stopped}, "
                     f"RectificationCompleted ×{sent}" for r, n, on, stopped, sent in sql("""
            SELECT r.rating_id, count(c.id), r.resolved_on, max(c.stopped_on),
                   (SELECT count(*) FROM outbox o WHERE o.event_type = 'RectificationCompleted'
                    AND (o.envelope->'payload'->>'rating_id')::bigint = r.rating_id)
            FROM rectifications r LEFT JOIN clocks c ON c.step = 'rectification' AND c.ref = r.rating_id::text
            GROUP BY r.rating_id
            HAVING count(c.id) <> 1 OR (r.resolved_on IS NOT NULL) <> (max(c.stopped_on) IS NOT NULL)
                OR CASE WHEN r.resolution IN ('fixed', 'ledger', 'explained') THEN 1
                        WHEN r.resolution IS NULL THEN 0
                        ELSE NULL END  -- voided by an upheld appeal: rectified before, or not
                   <> (SELECT count(*) FROM outbox o WHERE o.event_type = 'RectificationCompleted'
                       AND (o.envelope->'payload'->>'rating_id')::bigint = r.rating_id)""")]
        problems += [f"supervision: appeal of rating {r} reviewed {rev}, upheld {up}, voided {v}"
                     for r, rev, up, v in sql("""
            SELECT r.rating_id, r.reviewed_on, r.appeal_upheld, g.voided_on
            FROM rectifications r JOIN ratings g ON g.id = r.rating_id
            WHERE (r.reviewed_on IS NOT NULL AND r.appealed_on IS NULL)
               OR (g.voided_on IS NOT NULL) <> coalesce(r.appeal_upheld, false)
               OR coalesce(r.appeal_upheld, false) <> (r.resolution IS NOT DISTINCT FROM 'voided')""")]
        problems += [f"supervision: complaint {p}: {n} clocks, answered {on}, stopped {stopped}, "
                     f"ComplaintAnswered ×{sent}" for p, n, on, stopped, sent in sql("""
            SELECT p.id, count(c.id), p.answered_on, max(c.stopped_on),
                   (SELECT count(*) FROM outbox o WHERE o.event_type = 'ComplaintAnswered'
                    AND (o.envelope->'payload'->>'complaint_id')::bigint = p.id) AS sent
            FROM complaints p LEFT JOIN clocks c ON c.step = 'complaint' AND c.ref = p.id::text
            GROUP BY p.id
            HAVING count(c.id) <> 1 OR (p.answered_on IS NOT NULL) <> (max(c.stopped_on) IS NOT NULL)
                OR (p.answered_on IS NOT NULL) <> ((SELECT count(*) FROM outbox o
                    WHERE o.event_type = 'ComplaintAnswered'
                    AND (o.envelope->'payload'->>'complaint_id')::bigint = p.id) = 1)""")]
    return problems
