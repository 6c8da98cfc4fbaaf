"""Supervision's tables: clocks, warnings, supervision suggestions."""
from __future__ import annotations

import datetime as dt

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from services.clock import Clock, Pause, PauseReason
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
               marks: Marks) -> None:
    uow.execute("INSERT INTO clocks (case_number, step, ref, department, started_on, limit_days, deadline, "
                "yellow_on, red_on) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [case_number, step, ref, department, clock.started_on, clock.limit_days, marks.deadline,
                 marks.yellow_on, marks.red_on])


def clocks(uow: UnitOfWork, case_number: str, steps: tuple[str, ...], ref: str | None = None) -> list[dict]:
    query = "SELECT * FROM clocks WHERE case_number = %s AND step = ANY(%s)"
    params: list = [case_number, list(steps)]
    if ref is not None:
        query += " AND ref = %s"
        params.append(ref)
    return uow.conn.cursor(row_factory=dict_row).execute(query + " ORDER BY id FOR UPDATE", params).fetchall()


def save(uow: UnitOfWork, row_id: int, clock: Clock, marks: Marks, paused_by: list[str]) -> None:
    uow.execute("UPDATE clocks SET extension_days = %s, pauses = %s, paused_by = %s, stopped_on = %s, "
                "deadline = %s, yellow_on = %s, red_on = %s WHERE id = %s",
                [clock.extension_days, _pauses(clock), Jsonb(paused_by), clock.stopped_on, marks.deadline,
                 marks.yellow_on, marks.red_on, row_id])


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


def withdraw_yellow(uow: UnitOfWork, clock_id: int, today: dt.date) -> None:
    """A step finished in time: its yellow warning no longer stands."""
    uow.execute("UPDATE warnings SET withdrawn_on = %s WHERE clock_id = %s AND colour = 'yellow' "
                "AND withdrawn_on IS NULL", [today, clock_id])


def reds_this_month(uow: UnitOfWork, department: str, today: dt.date) -> int:
    (n,) = uow.execute("SELECT count(*) FROM warnings WHERE department = %s AND colour = 'red' "
                       "AND date_trunc('month', raised_on) = date_trunc('month', %s::date)",
                       [department, today]).fetchone()
    return n


def suggest(uow: UnitOfWork, department: str, today: dt.date, reds: int) -> bool:
    cur = uow.execute("INSERT INTO suggestions (department, month, reds, raised_on) VALUES (%s, %s, %s, %s) "
                      "ON CONFLICT DO NOTHING RETURNING 1", [department, f"{today:%Y-%m}", reds, today])
    return cur.fetchone() is not None
