"""Intake's tables: the case record and its hash-chained history (in the `intake` schema)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from services.uow import UnitOfWork

from .history import GENESIS, Entry, new_entry

_JSON = {"applicant", "application", "receipt", "provided", "promised_materials", "pending_supplement"}


def _value(column: str, value):
    return Jsonb(value) if column in _JSON and value is not None else value


def next_case_number(uow: UnitOfWork, day) -> str:
    (seq,) = uow.execute("SELECT nextval('case_number_seq')").fetchone()
    return f"{day:%Y%m%d}{seq:07d}"


def insert_case(uow: UnitOfWork, row: dict) -> bool:
    """False when the request id is already taken (the first one wins, the caller re-reads)."""
    columns = list(row)
    cur = uow.execute(
        f"INSERT INTO cases ({', '.join(columns)}, history_head) VALUES ({', '.join(['%s'] * len(columns))}, %s) "
        "ON CONFLICT (request_id) DO NOTHING RETURNING 1",
        [_value(c, row[c]) for c in columns] + [GENESIS])
    return cur.fetchone() is not None


def insert_consultation(uow: UnitOfWork, app, at, request_hash: str) -> bool:
    """Record a consultation (咨询); False when its request id was recorded before."""
    return uow.execute(
        "INSERT INTO consultations (request_id, item_code, organisation, channel, first_clerk, agent, answered_at, "
        "request_hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (request_id) DO NOTHING RETURNING 1",
        [app.request_id, app.item_code, app.organisation, app.channel.value, app.first_clerk, app.agent, at,
         request_hash],
    ).fetchone() is not None


def consultation_hash(uow: UnitOfWork, request_id: str) -> str | None:
    """The request hash of the consultation recorded under a request id ('' for one recorded before
    hashes were kept); None when there is none."""
    row = uow.execute("SELECT coalesce(request_hash, '') FROM consultations WHERE request_id = %s",
                      [request_id]).fetchone()
    return row[0] if row else None


def case_by_request(uow: UnitOfWork, request_id: str) -> dict | None:
    return uow.conn.cursor(row_factory=dict_row).execute(
        "SELECT * FROM cases WHERE request_id = %s", [request_id]).fetchone()


def load_case(uow: UnitOfWork, case_number: str, lock: bool = False) -> dict | None:
    return uow.conn.cursor(row_factory=dict_row).execute(
        "SELECT * FROM cases WHERE case_number = %s" + (" FOR UPDATE" if lock else ""), [case_number]).fetchone()


def update_case(uow: UnitOfWork, case_number: str, **fields) -> None:
    sets = ", ".join(f"{c} = %s" for c in fields)
    uow.execute(f"UPDATE cases SET {sets} WHERE case_number = %s",
                [_value(c, v) for c, v in fields.items()] + [case_number])


@dataclass(frozen=True)
class HistoryHead:
    """A case's status and the end of its history, read with the case row locked (`lock_head`)."""

    status: str
    seq: int
    hash: str


def lock_head(uow: UnitOfWork, case_number: str) -> HistoryHead | None:
    """Lock the case row (one writer of its history at a time); None for an unknown case."""
    row = uow.execute("SELECT status, history_seq, history_head FROM cases WHERE case_number = %s FOR UPDATE",
                      [case_number]).fetchone()
    return HistoryHead(*row) if row else None


@dataclass(frozen=True)
class Act:
    """One entry to append: what happened, the holder in charge, its detail, when, and who did it."""

    kind: str
    actor: str
    detail: dict
    at: dt.datetime | None = None
    by: dict | None = None


def append(uow: UnitOfWork, case_number: str, kind: str, actor: str, detail: dict, at=None,
           changes: dict | None = None, by: dict | None = None) -> Entry:
    """Add an entry at the end of the case's history (`append_all` of one)."""
    return append_all(uow, case_number, [Act(kind, actor, detail, at, by)], changes)[-1]


def append_all(uow: UnitOfWork, case_number: str, acts: list[Act], changes: dict | None = None,
               head: HistoryHead | None = None) -> list[Entry]:
    """Add entries at the end of the case's history, in order, with `changes` to the case row in the
    same statement: two statements however many entries, one after `lock_head` gave the `head`.

    An act's `at` is when it happened (an event's time), by default now; the order of the chain is
    the order of recording. `by` is who did the act (history.new_entry).
    """
    head = head or lock_head(uow, case_number)
    seq, last = head.seq, head.hash
    entries = []
    for act in acts:
        seq += 1
        entry = new_entry(case_number, seq, last, (act.at or uow.time.now()).isoformat(), act.kind, act.actor,
                          act.detail, act.by)
        entries.append(entry)
        last = entry.hash
    fields = {**(changes or {}), "history_seq": seq, "history_head": last}
    sets = ", ".join(f"{c} = %s" for c in fields)
    # %b: the arrays go in PostgreSQL's binary format; as text, psycopg would escape every quote of
    # every JSON body in Python, which was a third of this process's time
    uow.execute("WITH appended AS (INSERT INTO history (case_number, seq, body, prev_hash, hash) "
                "SELECT %s, * FROM unnest(%b::int[], %b::text[], %b::text[], %b::text[])) "
                f"UPDATE cases SET {sets} WHERE case_number = %s",
                [case_number, [e.seq for e in entries], [e.body for e in entries], [e.prev_hash for e in entries],
                 [e.hash for e in entries], *[_value(c, v) for c, v in fields.items()], case_number])
    return entries


def history(uow: UnitOfWork, case_number: str) -> list[Entry]:
    rows = uow.execute("SELECT seq, body, prev_hash, hash FROM history WHERE case_number = %s ORDER BY seq",
                       [case_number]).fetchall()
    return [Entry(*row) for row in rows]


def failed_guesses(uow: UnitOfWork, case_number: str, peer: str, since) -> tuple[int, int]:
    """Failed Track attempts since `since`: on this case number, and from this client address."""
    return uow.execute("SELECT count(*) FILTER (WHERE case_number = %s), count(*) FILTER (WHERE peer = %s) "
                       "FROM track_failures WHERE at >= %s", [case_number, peer, since]).fetchone()


def record_failed_guess(uow: UnitOfWork, case_number: str, peer: str, expired) -> None:
    uow.execute("DELETE FROM track_failures WHERE at < %s", [expired])
    uow.execute("INSERT INTO track_failures (case_number, peer, at) VALUES (%s, %s, %s)",
                [case_number[:64], peer, uow.time.now()])


def board_counts(uow: UnitOfWork, today: dt.date, start: dt.datetime, end: dt.datetime,
                 open_statuses: list[str]) -> list[tuple[str, int, int, int, int]]:
    """Per accepting organisation: (code, accepted today, in handling, concluded today, overdue), for
    the board; `start`..`end` is today. Reads only the cases open, accepted today or archived today
    (each through its index), whatever the size of the table."""
    return uow.execute(
        "SELECT organisation, count(*) FILTER (WHERE accepted_on = %(today)s), "
        "count(*) FILTER (WHERE status = ANY(%(open)s)), "
        "count(*) FILTER (WHERE status = 'concluded' AND archived_at >= %(start)s AND archived_at < %(end)s), "
        "count(*) FILTER (WHERE status = ANY(%(open)s) AND promised_deadline < %(today)s) "
        "FROM cases WHERE status = ANY(%(open)s) OR accepted_on = %(today)s "
        "OR (archived_at >= %(start)s AND archived_at < %(end)s) GROUP BY organisation",
        {"today": today, "start": start, "end": end, "open": open_statuses}).fetchall()


# Waiting for the applicant's materials: a one-time notice unanswered, a department's request pending, a
# 容缺 commitment not yet met. Written as the partial index cases_waiting is (migration 0007), so that the
# planner reads that index.
WAITING = ("(status IN ('supplement_required', 'waiting_supplement') OR (status IN ('accepted', "
           "'accepted_with_commitment', 'in_handling') AND promised_materials <> '[]'::jsonb))")


def list_cases(uow: UnitOfWork, query) -> tuple[list[dict], int | None]:
    """A page of the cases a `window.CaseQuery` asks for, newest first, with one more row than the page
    when there is another, and how many match in all when that is a day's or those waiting (None for
    every day: the count would read the organisation's whole history). Through the index of the
    organisation's cases by time (a day's with the day accepted, or the partial index of those
    waiting), keyset-paged: never an offset."""
    where, params = ["organisation = %(organisation)s"], {"organisation": query.organisation}
    if query.agent is not None:
        where.append("agent = %(agent)s")
        params["agent"] = query.agent
    if query.day is not None:
        where.append("(received_at >= %(start)s AND received_at < %(end)s OR accepted_on = %(day)s)")
        params["start"], params["end"] = query.day_bounds()
        params["day"] = query.day
    if query.waiting:
        where.append(WAITING)
    condition = " AND ".join(where)
    total = None
    if query.day is not None or query.waiting:
        (total,) = uow.execute(f"SELECT count(*) FROM cases WHERE {condition}", params).fetchone()
    if query.after is not None:
        condition += " AND (received_at, case_number) < (%(at)s, %(number)s)"
        params["at"], params["number"] = query.after
    rows = uow.conn.cursor(row_factory=dict_row).execute(
        f"SELECT * FROM cases WHERE {condition} ORDER BY received_at DESC, case_number DESC LIMIT %(limit)s",
        {**params, "limit": query.size + 1}).fetchall()
    return rows, total


# An agent's cases: those it accepted for an applicant, carries after a hand-over, is to confirm receiving,
# or accompanied the applicant to (带领).
AGENTS_CASES = ("(agent = %(agent)s OR carrier = %(agent)s OR handover_to = %(agent)s "
                "OR accompanied_by = %(agent)s)")
# The views of an agent's ledger (agents.View), as conditions on the cases table: open (not ended), waiting
# for the agent (materials owed, as WAITING; its own case concluded with the 办结反馈单 not signed; a hand-over
# to confirm), concluded (ended).
LEDGER = {"all": "TRUE", "open": "status NOT IN ('concluded', 'not_accepted', 'withdrawn')",
          "waiting": f"({WAITING} OR (agent = %(agent)s AND status = 'concluded' AND card_signed_on IS NULL) "
                     "OR handover_to = %(agent)s)",
          "concluded": "status IN ('concluded', 'not_accepted', 'withdrawn')"}


def list_agent_cases(uow: UnitOfWork, query) -> list[dict]:
    """A page of an agent's ledger (`agents.LedgerQuery`), newest first, with one more row than the page
    when there is another; through the indexes of the agent's cases and carried cases by time (migrations
    0009, 0010)."""
    condition = f"{AGENTS_CASES} AND {LEDGER[query.view]}"
    params = {"agent": query.agent, "limit": query.size + 1}
    if query.after is not None:
        condition += " AND (received_at, case_number) < (%(at)s, %(number)s)"
        params["at"], params["number"] = query.after
    return uow.conn.cursor(row_factory=dict_row).execute(
        f"SELECT * FROM cases WHERE {condition} ORDER BY received_at DESC, case_number DESC LIMIT %(limit)s",
        params).fetchall()


def ledger_counts(uow: UnitOfWork, agent: str) -> tuple[int, int, int]:
    """How many of an agent's cases are open, waiting for the agent, concluded."""
    return uow.execute(
        f"SELECT count(*) FILTER (WHERE {LEDGER['open']}), count(*) FILTER (WHERE {LEDGER['waiting']}), "
        f"count(*) FILTER (WHERE {LEDGER['concluded']}) FROM cases WHERE {AGENTS_CASES}", {"agent": agent}).fetchone()


def active_agent_cases(uow: UnitOfWork, agent: str, limit: int) -> list[dict]:
    """An agent's own cases still active: open, or concluded with the 办结反馈单 not signed; newest first."""
    return uow.conn.cursor(row_factory=dict_row).execute(
        "SELECT * FROM cases WHERE agent = %s AND (status NOT IN ('concluded', 'not_accepted', 'withdrawn') "
        "OR (status = 'concluded' AND card_signed_on IS NULL)) ORDER BY received_at DESC, case_number DESC LIMIT %s",
        [agent, limit]).fetchall()


def held_cases(uow: UnitOfWork, agent: str) -> list[dict]:
    """Every case an agent still holds: open ones it accepted, carries or is to confirm, and its concluded
    ones with the 办结反馈单 not signed; locked, oldest first."""
    return uow.conn.cursor(row_factory=dict_row).execute(
        "SELECT * FROM cases WHERE (agent = %(agent)s OR carrier = %(agent)s OR handover_to = %(agent)s) "
        "AND (status NOT IN ('concluded', 'not_accepted', 'withdrawn') "
        "OR (status = 'concluded' AND card_signed_on IS NULL AND agent = %(agent)s)) "
        "ORDER BY received_at, case_number FOR UPDATE", {"agent": agent}).fetchall()
