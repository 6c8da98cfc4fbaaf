"""Supervision's tables: clocks, warnings, supervision suggestions, what it knows of cases, fees, ratings,
rectification items, complaints, and the counts behind the public's limits."""
from __future__ import annotations

import datetime as dt

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from hall.clock import Clock, Pause, PauseReason
from services.uow import UnitOfWork

from .timing import Marks


def clock_of(row: dict) -> Clock:
    pauses = tuple(Pause(PauseReason(p["reason"]), dt.date.fromisoformat(p["start"]),
                         dt.date.fromisoformat(p["end"]) if p["end"] else None) for p in row["pauses"])
    return Clock(row["started_on"], row["limit_days"], pauses, row["extension_days"], row["stopped_on"])


def _pauses(clock: Clock) -> Jsonb:
    return Jsonb([{"reason": p.reason.value, "start": str(p.start), "end": str(p.end) if p.end else None}
                  for p in clock.pauses])


def open_clock(uow: UnitOfWork, case_number: str, step: str, ref: str, department: str | None, clock: Clock,
               marks: Marks, organisation: str | None = None) -> None:
    uow.execute("INSERT INTO clocks (case_number, step, ref, department, organisation, started_on, limit_days, "
                "deadline, yellow_on, red_on) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [case_number, step, ref, department, organisation, clock.started_on, clock.limit_days,
                 marks.deadline, marks.yellow_on, marks.red_on])


def clocks(uow: UnitOfWork, case_number: str, steps: tuple[str, ...], ref: str | None = None) -> list[dict]:
    query = "SELECT * FROM clocks WHERE case_number = %s AND step = ANY(%s)"
    params: list = [case_number, list(steps)]
    if ref is not None:
        query += " AND ref = %s"
        params.append(ref)
    return uow.conn.cursor(row_factory=dict_row).execute(query + " ORDER BY id FOR UPDATE", params).fetchall()


def clocks_by_ref(uow: UnitOfWork, step: str, ref: str) -> list[dict]:
    return uow.conn.cursor(row_factory=dict_row).execute(
        "SELECT * FROM clocks WHERE step = %s AND ref = %s ORDER BY id FOR UPDATE", [step, ref]).fetchall()


def save(uow: UnitOfWork, row_id: int, clock: Clock, marks: Marks, paused_by: list[str],
         withdraw_yellow_on: dt.date | None = None, **also) -> None:
    """Write a clock back; `also`: more columns of its row set in the same statement (a decision).
    With `withdraw_yellow_on` (a step finished in time) its yellow warning, if raised, no longer
    stands from that day: withdrawn by the same statement."""
    more = "".join(f", {c} = %s" for c in also)
    withdraw, params = "", []
    if withdraw_yellow_on is not None:
        withdraw = ("WITH withdrawn AS (UPDATE warnings SET withdrawn_on = %s WHERE clock_id = %s "
                    "AND colour = 'yellow' AND withdrawn_on IS NULL) ")
        params = [withdraw_yellow_on, row_id]
    uow.execute(f"{withdraw}UPDATE clocks SET extension_days = %s, pauses = %s, paused_by = %s, stopped_on = %s, "
                f"deadline = %s, yellow_on = %s, red_on = %s{more} WHERE id = %s",
                [*params, clock.extension_days, _pauses(clock), Jsonb(paused_by), clock.stopped_on, marks.deadline,
                 marks.yellow_on, marks.red_on, *also.values(), row_id])


def update_clock(uow: UnitOfWork, row_id: int, **fields) -> None:
    uow.execute(f"UPDATE clocks SET {', '.join(f'{c} = %s' for c in fields)} WHERE id = %s",
                [*fields.values(), row_id])


def due(uow: UnitOfWork, today: dt.date, limit: int) -> list[dict]:
    """Running clocks with a warning due and not yet raised; locked, so replicas share them out.

    A clock past its red day is due until it has its red warning; one past its yellow day is due
    until it has any warning.
    """
    return uow.conn.cursor(row_factory=dict_row).execute(
        "SELECT c.* FROM clocks c WHERE c.stopped_on IS NULL AND ("
        "  (c.red_on <= %(today)s AND NOT EXISTS "
        "     (SELECT 1 FROM warnings w WHERE w.clock_id = c.id AND w.colour = 'red'))"
        "  OR (c.yellow_on <= %(today)s AND NOT EXISTS (SELECT 1 FROM warnings w WHERE w.clock_id = c.id)))"
        "ORDER BY c.id LIMIT %(limit)s FOR UPDATE OF c SKIP LOCKED", {"today": today, "limit": limit}).fetchall()


def raise_warning(uow: UnitOfWork, row: dict, colour: str, today: dt.date) -> bool:
    cur = uow.execute("INSERT INTO warnings (clock_id, case_number, step, department, colour, deadline, raised_on) "
                      "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
                      [row["id"], row["case_number"], row["step"], row["department"], colour, row["deadline"], today])
    return cur.fetchone() is not None


def warning(uow: UnitOfWork, warning_id: int, lock: bool = False) -> dict | None:
    return uow.conn.cursor(row_factory=dict_row).execute(
        "SELECT * FROM warnings WHERE id = %s" + (" FOR UPDATE" if lock else ""), [warning_id]).fetchone()


def _json(fields: dict) -> list:
    """Column values as written: an actor (a dict) as JSON."""
    return [Jsonb(v) if isinstance(v, dict) else v for v in fields.values()]


def update_warning(uow: UnitOfWork, warning_id: int, **fields) -> None:
    uow.execute(f"UPDATE warnings SET {', '.join(f'{c} = %s' for c in fields)} WHERE id = %s",
                [*_json(fields), warning_id])


def reds_this_month(uow: UnitOfWork, department: str, today: dt.date) -> int:
    (n,) = uow.execute("SELECT count(*) FROM warnings WHERE department = %s AND colour = 'red' "
                       "AND date_trunc('month', raised_on) = date_trunc('month', %s::date)",
                       [department, today]).fetchone()
    return n


def suggest(uow: UnitOfWork, department: str, today: dt.date, reds: int) -> bool:
    cur = uow.execute("INSERT INTO suggestions (department, month, reds, raised_on) VALUES (%s, %s, %s, %s) "
                      "ON CONFLICT DO NOTHING RETURNING 1", [department, f"{today:%Y-%m}", reds, today])
    return cur.fetchone() is not None


_SUGGESTION = ("SELECT s.*, (SELECT count(*) FROM warnings w WHERE w.department = s.department AND w.colour = 'red' "
               "AND to_char(w.raised_on, 'YYYY-MM') = s.month) AS reds_in_month FROM suggestions s")


def suggestion(uow: UnitOfWork, suggestion_id: int, lock: bool = False) -> dict | None:
    return uow.conn.cursor(row_factory=dict_row).execute(
        f"{_SUGGESTION} WHERE s.id = %s" + (" FOR UPDATE OF s" if lock else ""), [suggestion_id]).fetchone()


def suggestions(uow: UnitOfWork, department: str | None, open_only: bool, after: int, limit: int) -> list[dict]:
    query, params = f"{_SUGGESTION} WHERE s.id > %s", [after]
    if department:
        query += " AND s.department = %s"
        params.append(department)
    if open_only:
        query += " AND s.closed_on IS NULL"
    return uow.conn.cursor(row_factory=dict_row).execute(query + " ORDER BY s.id LIMIT %s", [*params, limit]).fetchall()


def close_suggestion(uow: UnitOfWork, suggestion_id: int, note: str, today: dt.date, by: dict) -> None:
    uow.execute("UPDATE suggestions SET closed_on = %s, note = %s, closed_by = %s WHERE id = %s",
                [today, note, Jsonb(by), suggestion_id])


# --- what supervision knows of each case ----------------------------------------------------


def insert_case(uow: UnitOfWork, case_number: str, **fields) -> bool:
    cur = uow.execute(f"INSERT INTO cases (case_number, {', '.join(fields)}) "
                      f"VALUES (%s, {', '.join(['%s'] * len(fields))}) ON CONFLICT DO NOTHING RETURNING 1",
                      [case_number, *fields.values()])
    return cur.fetchone() is not None


def case(uow: UnitOfWork, case_number: str, lock: bool = False) -> dict | None:
    return uow.conn.cursor(row_factory=dict_row).execute(
        "SELECT * FROM cases WHERE case_number = %s" + (" FOR UPDATE" if lock else ""), [case_number]).fetchone()


def update_case(uow: UnitOfWork, case_number: str, **fields) -> None:
    uow.execute(f"UPDATE cases SET {', '.join(f'{c} = %s' for c in fields)} WHERE case_number = %s",
                [*fields.values(), case_number])


def open_cases_of_applicant(uow: UnitOfWork, applicant_key: str, other_than: str) -> list[str]:
    rows = uow.execute("SELECT case_number FROM cases WHERE applicant_key = %s AND concluded_on IS NULL "
                       "AND case_number <> %s ORDER BY accepted_on, case_number", [applicant_key, other_than])
    return [r[0] for r in rows.fetchall()]


def record_answer(uow: UnitOfWork, case_number: str, item_code: str, organisation: str, outcome: str,
                  reasons: list[str], day: dt.date) -> None:
    uow.execute("INSERT INTO answers (case_number, item_code, organisation, outcome, reasons, answered_on) "
                "VALUES (%s, %s, %s, %s, %s, %s)", [case_number, item_code, organisation, outcome, Jsonb(reasons), day])


def record_fault(uow: UnitOfWork, case_number: str, kind: str, ref: str, department: str | None, detail: str,
                 day: dt.date) -> bool:
    cur = uow.execute("INSERT INTO faults (case_number, kind, ref, department, detail, found_on) "
                      "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
                      [case_number, kind, ref, department, detail, day])
    return cur.fetchone() is not None


def progress_due(uow: UnitOfWork, today: dt.date, limit: int) -> list[dict]:
    """Open beyond-township cases whose written progress notice is due; locked for one replica."""
    return uow.conn.cursor(row_factory=dict_row).execute(
        "SELECT * FROM cases WHERE progress_due_on <= %s AND progress_noticed_on IS NULL AND concluded_on IS NULL "
        "ORDER BY progress_due_on, case_number LIMIT %s FOR UPDATE SKIP LOCKED", [today, limit]).fetchall()


def record_fee(uow: UnitOfWork, case_number: str, item_code: str, department: str | None, organisation: str,
               amount_fen: int, receipt_number: str, collected_on: dt.date, by: dict | None) -> bool:
    """The fee of a case; False if it was recorded already (a case's fee is collected once)."""
    cur = uow.execute("INSERT INTO fees (case_number, item_code, department, organisation, amount_fen, receipt_number, "
                      "collected_on, collected_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                      "ON CONFLICT DO NOTHING RETURNING 1",
                      [case_number, item_code, department, organisation, amount_fen, receipt_number, collected_on,
                       Jsonb(by) if by else None])
    return cur.fetchone() is not None


# --- ratings and rectification items ---------------------------------------------------------


def task_clock(uow: UnitOfWork, case_number: str, task_id: str) -> dict | None:
    return uow.conn.cursor(row_factory=dict_row).execute(
        "SELECT * FROM clocks WHERE case_number = %s AND step = 'task' AND ref = %s", [case_number, task_id]).fetchone()


def rating_by_request(uow: UnitOfWork, request_id: str) -> dict | None:
    return uow.conn.cursor(row_factory=dict_row).execute(
        "SELECT * FROM ratings WHERE request_id = %s", [request_id]).fetchone()


def insert_rating(uow: UnitOfWork, r, department: str | None, organisation: str, by: dict,
                  today: dt.date) -> dict | None:
    """The new rating, or None if this case (online) or this act (on site) was rated already. `by`:
    whose act it rates (organisation, person, post)."""
    return uow.conn.cursor(row_factory=dict_row).execute(
        "INSERT INTO ratings (request_id, case_number, channel, act, level, comment, named, department, organisation, "
        "by_organisation, by_person, by_post, rated_on) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (case_number, channel, act) DO NOTHING RETURNING *",
        [r.request_id, r.case_number, r.channel, r.act, r.level, r.comment, r.named, department, organisation,
         by["organisation"], by["person"], by["post"], today]).fetchone()


def void_rating(uow: UnitOfWork, rating_id: int, today: dt.date) -> None:
    uow.execute("UPDATE ratings SET voided_on = %s WHERE id = %s", [today, rating_id])


def open_rectification(uow: UnitOfWork, rating_id: int, department: str | None, organisation: str, post: str,
                       today: dt.date) -> None:
    uow.execute("INSERT INTO rectifications (rating_id, department, organisation, post, opened_on) "
                "VALUES (%s, %s, %s, %s, %s)", [rating_id, department, organisation, post, today])


_RECTIFICATION = ("SELECT r.*, g.case_number, g.level, g.comment, g.named, g.by_organisation, g.by_person, "
                  "c.deadline "
                  "FROM rectifications r JOIN ratings g ON g.id = r.rating_id "
                  "LEFT JOIN clocks c ON c.step = 'rectification' AND c.ref = r.rating_id::text")


def rectification(uow: UnitOfWork, rating_id: int, lock: bool = False) -> dict | None:
    return uow.conn.cursor(row_factory=dict_row).execute(
        f"{_RECTIFICATION} WHERE r.rating_id = %s" + (" FOR UPDATE OF r" if lock else ""), [rating_id]).fetchone()


def rectifications(uow: UnitOfWork, department: str | None, open_only: bool, after: int, limit: int,
                   organisations: list[str] | None = None, post: str = "", person: str = "") -> list[dict]:
    """Items of a department (None: of all), or with `organisations`, the items of those
    organisations that have no department (what a centre answers for); of the rated post or person
    (staff number) when given."""
    query, params = f"{_RECTIFICATION} WHERE r.rating_id > %s", [after]
    if post:
        query += " AND r.post = %s"
        params.append(post)
    if person:
        query += " AND g.by_person = %s"
        params.append(person)
    if department:
        query += " AND r.department = %s"
        params.append(department)
    if organisations is not None:
        query += " AND r.department IS NULL AND r.organisation = ANY(%s)"
        params.append(organisations)
    if open_only:
        query += " AND r.resolved_on IS NULL"
    return uow.conn.cursor(row_factory=dict_row).execute(query + " ORDER BY r.rating_id LIMIT %s",
                                                         [*params, limit]).fetchall()


def update_rectification(uow: UnitOfWork, rating_id: int, **fields) -> None:
    uow.execute(f"UPDATE rectifications SET {', '.join(f'{c} = %s' for c in fields)} WHERE rating_id = %s",
                [*_json(fields), rating_id])


# --- complaints -------------------------------------------------------------------------------

_COMPLAINT = ("SELECT p.*, c.deadline FROM complaints p "
              "LEFT JOIN clocks c ON c.step = 'complaint' AND c.ref = p.id::text")


def complaint_by_request(uow: UnitOfWork, request_id: str) -> dict | None:
    return uow.conn.cursor(row_factory=dict_row).execute(f"{_COMPLAINT} WHERE p.request_id = %s",
                                                         [request_id]).fetchone()


def insert_complaint(uow: UnitOfWork, c, department: str, today: dt.date, by: dict | None) -> dict:
    (complaint_id,) = uow.execute(
        "INSERT INTO complaints (request_id, channel, case_number, department, text, contact, registered_on, "
        "registered_by, kind, agent) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        [c.request_id, c.channel, c.case_number or None, department, c.text,
         Jsonb(c.contact) if c.contact else None, today, Jsonb(by) if by else None, c.kind, c.agent or None]).fetchone()
    return {"id": complaint_id, "request_id": c.request_id, "channel": c.channel, "case_number": c.case_number or None,
            "department": department, "text": c.text, "registered_on": today, "answer": None, "answered_on": None,
            "registered_by": by, "answered_by": None, "kind": c.kind, "agent": c.agent or None}


def complaint(uow: UnitOfWork, complaint_id: int, lock: bool = False) -> dict | None:
    return uow.conn.cursor(row_factory=dict_row).execute(
        f"{_COMPLAINT} WHERE p.id = %s" + (" FOR UPDATE OF p" if lock else ""), [complaint_id]).fetchone()


def complaints(uow: UnitOfWork, department: str | None, open_only: bool, after: int, limit: int) -> list[dict]:
    query, params = f"{_COMPLAINT} WHERE p.id > %s", [after]
    if department:
        query += " AND p.department = %s"
        params.append(department)
    if open_only:
        query += " AND p.answered_on IS NULL"
    return uow.conn.cursor(row_factory=dict_row).execute(query + " ORDER BY p.id LIMIT %s", [*params, limit]).fetchall()


def answer_complaint(uow: UnitOfWork, complaint_id: int, answer: str, today: dt.date, by: dict) -> None:
    uow.execute("UPDATE complaints SET answer = %s, answered_on = %s, answered_by = %s WHERE id = %s",
                [answer, today, Jsonb(by), complaint_id])


# --- the public's complaints through the web front, and their lookup ---------------------------


def take_turn(uow: UnitOfWork, what: str, key: str) -> None:
    """Wait for the other transactions counting toward the same limit (`what` of `key`) to end, so
    that calls at once cannot all pass the count before any is recorded."""
    uow.execute("SELECT pg_advisory_xact_lock(hashtext('onewindow.' || %s || '.' || %s))", [what, key])


def complaints_from(uow: UnitOfWork, client: str, since) -> int:
    """Complaints the front filed for this client address since `since`."""
    (n,) = uow.execute("SELECT count(*) FROM front_complaints WHERE client = %s AND at >= %s",
                       [client, since]).fetchone()
    return n


def record_front_complaint(uow: UnitOfWork, complaint_id: int, client: str, expired) -> None:
    uow.execute("DELETE FROM front_complaints WHERE at < %s", [expired])
    uow.execute("INSERT INTO front_complaints (complaint_id, client, at) VALUES (%s, %s, %s)",
                [complaint_id, client, uow.time.now()])


def failed_lookups(uow: UnitOfWork, complaint_id: int, client: str, since) -> tuple[int, int]:
    """Failed lookups since `since`: of this complaint number, and from this client address."""
    return uow.execute("SELECT count(*) FILTER (WHERE complaint_id = %s), count(*) FILTER (WHERE client = %s) "
                       "FROM lookup_failures WHERE at >= %s", [complaint_id, client, since]).fetchone()


def record_failed_lookup(uow: UnitOfWork, complaint_id: int, client: str, expired) -> None:
    uow.execute("DELETE FROM lookup_failures WHERE at < %s", [expired])
    uow.execute("INSERT INTO lookup_failures (complaint_id, client, at) VALUES (%s, %s, %s)",
                [complaint_id, client, uow.time.now()])


# --- warnings and faults, for the API -------------------------------------------------------


# A warning with what the board groups it by: `warned`, the step's department, else the case item's
# (whom an instruction goes to); the case's item; `organisation`, the deciding window or office of a
# task, the rated organisation of a rectification item, else the organisation that accepted the case.
_BOARD = ("SELECT w.*, COALESCE(w.department, k.department) AS warned, k.item_code, "
          "COALESCE(c.organisation, r.organisation, k.organisation) AS organisation "
          "FROM warnings w JOIN clocks c ON c.id = w.clock_id "
          "LEFT JOIN cases k ON k.case_number = w.case_number "
          "LEFT JOIN rectifications r ON c.step = 'rectification' AND r.rating_id::text = c.ref")
_OPEN = "withdrawn_on IS NULL AND replied_on IS NULL"
_LATE = "reply_by IS NOT NULL AND (replied_on > reply_by OR (replied_on IS NULL AND reply_by < %(today)s))"


def _board_filter(f, organisations: list[str] | None, today: dt.date) -> tuple[str, dict]:
    """The WHERE clause of a WarningFilter (board.py) over _BOARD's columns, and its parameters."""
    where, params = ["TRUE"], {"today": today, "since": f.since, "until": f.until, "department": f.department,
                               "colour": f.colour, "item": f.item, "organisations": organisations}
    for value, clause in ((f.since, "raised_on >= %(since)s"), (f.until, "raised_on <= %(until)s"),
                          (f.department, "warned = %(department)s"), (f.colour, "colour = %(colour)s"),
                          (f.item, "item_code = %(item)s"), (organisations is not None,
                                                            "organisation = ANY(%(organisations)s)"),
                          (f.open_only, _OPEN),
                          (f.instructed_unreplied, "instructed_on IS NOT NULL AND replied_on IS NULL"),
                          (f.late_replies, _LATE)):
        if value:
            where.append(clause)
    return " AND ".join(where), params


def warnings_in(uow: UnitOfWork, f, organisations: list[str] | None, today: dt.date, after: int,
                limit: int) -> list[dict]:
    """Warnings by a WarningFilter (board.py), `organisations` those of its level or centre (None: any)."""
    where, params = _board_filter(f, organisations, today)
    return uow.conn.cursor(row_factory=dict_row).execute(
        f"SELECT * FROM ({_BOARD}) b WHERE {where} AND id > %(after)s ORDER BY id LIMIT %(limit)s",
        {**params, "after": after, "limit": limit}).fetchall()


def warning_counts(uow: UnitOfWork, f, organisations: list[str] | None, today: dt.date, key: str) -> list[dict]:
    """Yellow and red counts of the warnings of a filter, by a column of _BOARD (`warned`, `item_code`,
    `organisation`), or '' for all together."""
    where, params = _board_filter(f, organisations, today)
    column = f"COALESCE({key}, '')" if key else "''"
    return uow.conn.cursor(row_factory=dict_row).execute(
        f"SELECT {column} AS key, count(*) FILTER (WHERE colour = 'yellow') AS yellow, "
        "count(*) FILTER (WHERE colour = 'red') AS red, "
        f"count(*) FILTER (WHERE colour = 'yellow' AND {_OPEN}) AS open_yellow, "
        f"count(*) FILTER (WHERE colour = 'red' AND {_OPEN}) AS open_red, "
        "count(*) FILTER (WHERE instructed_on IS NOT NULL) AS instructed, "
        "count(*) FILTER (WHERE replied_on IS NOT NULL) AS replied, "
        f"count(*) FILTER (WHERE {_LATE}) AS late_replies "
        f"FROM ({_BOARD}) b WHERE {where} GROUP BY 1 ORDER BY 1", params).fetchall()


def faults_in(uow: UnitOfWork, since: dt.date, until: dt.date, department: str | None) -> list[dict]:
    query, params = "SELECT * FROM faults WHERE found_on BETWEEN %s AND %s", [since, until]
    if department:
        query += " AND department = %s"
        params.append(department)
    return uow.conn.cursor(row_factory=dict_row).execute(query + " ORDER BY id LIMIT 1000", params).fetchall()


def record_consultation(uow: UnitOfWork, item_code: str, organisation: str, channel: str, day: dt.date) -> None:
    uow.execute("INSERT INTO consultations (item_code, organisation, channel, answered_on) VALUES (%s, %s, %s, %s)",
                [item_code, organisation, channel, day])


# --- the day's summary for the leader on duty -------------------------------------------------


def acts_of_day(uow: UnitOfWork, day: dt.date, organisations: list[str]) -> list[dict]:
    """The day's acts of these organisations, a row an organisation and act: `accepted` (cases it
    accepted), `concluded` (cases it accepted that ended with a result other than withdrawn),
    `decided` (tasks it decided), and `rated_1` … `rated_5` (ratings standing of its acts), with `n`."""
    return uow.conn.cursor(row_factory=dict_row).execute(
        "SELECT organisation, 'accepted' AS act, count(*) AS n FROM cases "
        "  WHERE accepted_on = %(day)s AND organisation = ANY(%(orgs)s) GROUP BY 1 "
        "UNION ALL SELECT organisation, 'concluded', count(*) FROM cases "
        "  WHERE concluded_on = %(day)s AND result <> 'withdrawn' AND organisation = ANY(%(orgs)s) GROUP BY 1 "
        "UNION ALL SELECT organisation, 'decided', count(*) FROM clocks "
        "  WHERE step = 'task' AND decided_on = %(day)s AND organisation = ANY(%(orgs)s) GROUP BY 1 "
        "UNION ALL SELECT o, 'rated_' || level, count(*) FROM "
        "  (SELECT COALESCE(NULLIF(by_organisation, ''), organisation) AS o, level FROM ratings "
        "   WHERE rated_on = %(day)s AND voided_on IS NULL) g WHERE o = ANY(%(orgs)s) GROUP BY 1, 2",
        {"day": day, "orgs": organisations}).fetchall()


def day_signature(uow: UnitOfWork, day: dt.date, centre: str) -> dict | None:
    return uow.conn.cursor(row_factory=dict_row).execute(
        "SELECT * FROM day_summaries WHERE day = %s AND centre = %s", [day, centre]).fetchone()


def sign_day(uow: UnitOfWork, day: dt.date, centre: str, by: dict, figures: dict) -> bool:
    """Record the signature; False if the day of the centre was signed already."""
    cur = uow.execute("INSERT INTO day_summaries (day, centre, signed_by, signed_at, figures) "
                      "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
                      [day, centre, Jsonb(by), uow.time.now(), Jsonb(figures)])
    return cur.fetchone() is not None


# --- the monthly 通报 as issued ---------------------------------------------------------------

_BULLETIN = ("SELECT id, request_id, month, version, summary, issued_at, issued_by, octet_length(pdf) AS size_bytes "
             "FROM bulletins")


def bulletin_by_request(uow: UnitOfWork, request_id: str) -> dict | None:
    return uow.conn.cursor(row_factory=dict_row).execute(f"{_BULLETIN} WHERE request_id = %s",
                                                         [request_id]).fetchone()


def issue_bulletin(uow: UnitOfWork, request_id: str, month: str, pdf: bytes, summary: str, by: dict) -> dict:
    """The month's next version; callers take their turn for the month first (take_turn)."""
    return uow.conn.cursor(row_factory=dict_row).execute(
        "INSERT INTO bulletins (request_id, month, version, pdf, summary, issued_at, issued_by) "
        "VALUES (%s, %s, (SELECT COALESCE(max(version), 0) + 1 FROM bulletins WHERE month = %s), %s, %s, %s, %s) "
        "RETURNING id, request_id, month, version, summary, issued_at, issued_by, octet_length(pdf) AS size_bytes",
        [request_id, month, month, pdf, summary, uow.time.now(), Jsonb(by)]).fetchone()


def bulletins(uow: UnitOfWork, month: str | None, after: int, limit: int) -> list[dict]:
    """Issued bulletins without their PDF, newest first (by id, below `after` when it is not 0)."""
    query, params = f"{_BULLETIN} WHERE TRUE", []
    if month:
        query += " AND month = %s"
        params.append(month)
    if after:
        query += " AND id < %s"
        params.append(after)
    return uow.conn.cursor(row_factory=dict_row).execute(query + " ORDER BY id DESC LIMIT %s",
                                                         [*params, limit]).fetchall()


def bulletin(uow: UnitOfWork, bulletin_id: int) -> dict | None:
    """An issued bulletin with its PDF (`pdf`)."""
    return uow.conn.cursor(row_factory=dict_row).execute(
        "SELECT b.*, octet_length(b.pdf) AS size_bytes FROM bulletins b WHERE b.id = %s", [bulletin_id]).fetchone()
