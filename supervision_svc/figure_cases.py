"""The cases behind one number of the figures (each number a link to its case list): for a period,
a grouping, a key of it and a count, the rows that count counted, selected with the conditions the
figures count with (figures.py), so that a list is exactly as long as its number.

One row per thing counted: a case accepted or concluded; by window, person and centre a decision
(a task: one case may be listed once per task its window decided); a rating; a complaint (naming a
case or not). The counts that can be listed:

- accepted, immediate: cases accepted in the period;
- concluded, concluded_on_site, concluded_on_time, concluded_late (concluded − on time): cases
  concluded in the period, or by window, person and centre tasks decided in it;
- ratings, dissatisfied (1 and 2): ratings given in the period that stand;
- complaints: complaints registered in the period; not by window, person or centre, which do not
  count them.

A caller sees what it may: a department the rows of its own (the cases of its items and their
ratings, its tasks' decisions, complaints against it), a centre's manager the rows whose
organisation its centre answers for (the accepting one, the deciding one, the rated one; a
complaint: its case's accepting one), the office and leaders all.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from psycopg.rows import dict_row

from hall.reference import Reference
from services.access import Caller, Role
from services.errors import InvalidRequest
from services.uow import UnitOfWork

from . import store
from .feedback import centre_answering_for
from .figures import (
    ACCEPTED,
    COMPLAINED,
    CONCLUDED,
    DECIDED,
    DECIDED_ON_SITE,
    DECIDED_ON_TIME,
    DISSATISFIED,
    GROUPINGS,
    GROUPS,
    IMMEDIATE,
    ON_SITE,
    ON_TIME,
    RATED,
    windows_of,
)


@dataclass(frozen=True)
class Source:
    """Where a count's rows come from: `seq` orders them (and is the page token: a row id, or a case
    number), `columns` and `tables` make the row, `counted_on` the day it was counted; `department`
    and `organisation` are what a caller's scope looks at; `keys` the column of each grouping."""
    seq: str
    columns: str
    tables: str
    counted_on: str
    department: str
    organisation: str
    keys: dict[str, str]

    @property
    def numbered(self) -> bool:
        return self.seq != "c.case_number"


_CASE = "c.accepted_on, c.concluded_on, c.on_time, c.days_used, c.limit_days"
_BY_CASE = {g: f"c.{column}" if column else "''" for g, column in GROUPS.items()} | {"centre": "c.organisation"}

CASES = Source(
    "c.case_number", f"c.case_number, c.item_code, c.department, c.organisation, {_CASE}, NULL::text AS task_id, "
    "NULL::bigint AS rating_id, NULL::bigint AS complaint_id", "cases c", "c.accepted_on", "c.department",
    "c.organisation", _BY_CASE)
DECISIONS = Source(
    "k.id", "k.case_number, c.item_code, k.department, k.organisation, c.accepted_on, c.concluded_on, k.on_time, "
    "NULL::integer AS days_used, NULL::integer AS limit_days, k.ref AS task_id, NULL::bigint AS rating_id, "
    "NULL::bigint AS complaint_id, k.started_on, k.limit_days AS task_limit_days, k.extension_days, k.pauses, "
    "k.stopped_on", "clocks k LEFT JOIN cases c USING (case_number)", "k.decided_on", "k.department",
    "k.organisation", {"window": "k.organisation", "person": "k.decided_by", "centre": "k.organisation"})
RATINGS = Source(
    "g.id", f"g.case_number, c.item_code, c.department, g.by_organisation AS organisation, {_CASE}, "
    "NULLIF(g.act, '') AS task_id, g.id AS rating_id, NULL::bigint AS complaint_id",
    "ratings g JOIN cases c USING (case_number)", "g.rated_on", "c.department", "g.by_organisation",
    _BY_CASE | {"window": "g.by_organisation", "person": "g.by_person", "centre": "g.by_organisation"})
COMPLAINTS = Source(
    "p.id", f"p.case_number, c.item_code, p.department, c.organisation, {_CASE}, NULL::text AS task_id, "
    "NULL::bigint AS rating_id, p.id AS complaint_id", "complaints p LEFT JOIN cases c USING (case_number)",
    "p.registered_on", "p.department", "c.organisation",
    {g: k for g, k in (_BY_CASE | {"department": "p.department"}).items() if g not in ("window", "person", "centre")})

# count -> (source, condition); by the act (window, person, centre) the conclusions are decisions
_CONCLUDED = replace(CASES, counted_on="c.concluded_on")
BY_CASE = {
    "accepted": (CASES, ACCEPTED),
    "immediate": (CASES, f"{ACCEPTED} AND {IMMEDIATE}"),
    "concluded": (_CONCLUDED, CONCLUDED),
    "concluded_on_site": (_CONCLUDED, f"{CONCLUDED} AND {ON_SITE}"),
    "concluded_on_time": (_CONCLUDED, f"{CONCLUDED} AND {ON_TIME}"),
    "concluded_late": (_CONCLUDED, f"{CONCLUDED} AND {ON_TIME} IS NOT TRUE"),
    "ratings": (RATINGS, RATED),
    "dissatisfied": (RATINGS, f"{RATED} AND {DISSATISFIED}"),
    "complaints": (COMPLAINTS, COMPLAINED),
}
BY_ACT = BY_CASE | {
    "concluded": (DECISIONS, DECIDED),
    "concluded_on_site": (DECISIONS, f"{DECIDED} AND {DECIDED_ON_SITE}"),
    "concluded_on_time": (DECISIONS, f"{DECIDED} AND {DECIDED_ON_TIME}"),
    "concluded_late": (DECISIONS, f"{DECIDED} AND {DECIDED_ON_TIME} IS NOT TRUE"),
}
ACT_GROUPINGS = ("window", "person", "centre")
COUNTS = tuple(BY_CASE)


@dataclass(frozen=True)
class Scope:
    """What a caller may list: one department's rows, the rows of some organisations, or all."""
    department: str | None = None
    organisations: list[str] | None = None


def organisations_of_centre(ref: Reference, centre: str) -> list[str]:
    """Every organisation a centre answers for (its desks, windows, back offices, village rooms)."""
    return [o.code for o in ref.org.organisations if centre_answering_for(ref.org, o.code) == centre]


def scope_of(caller: Caller, ref: Reference) -> Scope:
    """A department its own rows, a centre's manager its centre's, the office and leaders all."""
    if caller.role == Role.DEPARTMENT:
        return Scope(department=caller.code)
    if caller.role == Role.MANAGER:
        return Scope(organisations=organisations_of_centre(ref, caller.organisation))
    return Scope()


def figure_cases(uow: UnitOfWork, ref: Reference, since: dt.date, until: dt.date, group_by: str, key: str,
                 count: str, scope: Scope, after: str, limit: int) -> list[dict]:
    """The rows behind `count` of the group `key` (by `group_by`, a grouping of the figures) in the
    period, after the page token `after` ('' the first page), at most `limit`, in the order of `seq`.
    Each row has the case's columns, and for a decision the task's days used and limit."""
    if group_by not in GROUPINGS:
        raise InvalidRequest([("group_by", "OVERALL, DEPARTMENT, ITEM, LEVEL, CHANNEL, WINDOW, PERSON or CENTRE")])
    if count not in COUNTS:
        raise InvalidRequest([("count", f"one of {', '.join(COUNTS)}")])
    source, condition = (BY_ACT if group_by in ACT_GROUPINGS else BY_CASE)[count]
    if group_by not in source.keys:
        raise InvalidRequest([("count", f"{count} are not counted by {group_by}: list them by department, item, "
                                        "level, channel or overall")])
    p = {"since": since, "until": until, "key": key, "windows": windows_of(ref), "limit": limit}
    column = f"coalesce({source.keys[group_by]}, '')"
    if group_by == "centre":  # the organisations the centre answers for; '' those of no known centre
        known = [o.code for o in ref.org.organisations if centre_answering_for(ref.org, o.code)]
        p["orgs"] = organisations_of_centre(ref, key) if key else known
        where = [f"{column} = ANY(%(orgs)s)" if key else f"NOT ({column} = ANY(%(orgs)s))"]
    else:
        where = [f"{column} = %(key)s"]
    where.append(condition)
    if scope.department is not None:
        where.append(f"{source.department} = %(department)s")
        p["department"] = scope.department
    if scope.organisations is not None:
        where.append(f"{source.organisation} = ANY(%(scope)s)")
        p["scope"] = scope.organisations
    if after:
        where.append(f"{source.seq} > %(after)s")
        p["after"] = _token(after, source.numbered)
    rows = uow.conn.cursor(row_factory=dict_row).execute(
        f"SELECT {source.seq} AS seq, {source.columns}, {source.counted_on} AS counted_on FROM {source.tables} "
        f"WHERE {' AND '.join(where)} ORDER BY {source.seq} LIMIT %(limit)s", p).fetchall()
    return [_with_task_days(ref, row) for row in rows]


def _token(after: str, numbered: bool):
    if not numbered:
        return after
    try:
        return int(after)
    except ValueError:
        raise InvalidRequest([("page_token", "a token from a previous reply")]) from None


def _with_task_days(ref: Reference, row: dict) -> dict:
    """A decision's days used and limit: its task's clock read on the day it was decided."""
    if "started_on" not in row:
        return row
    clock = store.clock_of({"started_on": row["started_on"], "limit_days": row["task_limit_days"],
                            "pauses": row["pauses"], "extension_days": row["extension_days"],
                            "stopped_on": row["stopped_on"]})
    reading = clock.read(ref.calendar, row["counted_on"])
    return {**row, "days_used": reading.used, "limit_days": reading.limit}
