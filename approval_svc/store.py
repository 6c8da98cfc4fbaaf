"""Approval's tables: cases in handling, tasks, and each department's feed of new work."""
from __future__ import annotations

import datetime as dt

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from hall.calendar import CalendarYearMissing, WorkingCalendar
from hall.clock import Pause, PauseReason
from hall.domain import Decision, TaskStatus
from services.uow import UnitOfWork

from .desk import Proposal, Task

FEED_CHANNEL = "desk_feed"
_COLUMNS = ("id", "case_number", "item_code", "stage", "stage_name", "department", "organisation", "role",
            "status", "assigned_on", "limit_days", "extension_days", "pauses", "supplement_requested_on",
            "supplement_late", "suspended_until", "suspension_extension_days", "procedure", "ask",
            "lead_task_id", "round", "decision", "opinion", "legal_basis", "documents", "decided_at",
            "holder", "post", "proposal", "decided_by", "signed_off")
_SELECT = "SELECT " + ", ".join(f"t.{c}" for c in _COLUMNS) + " FROM tasks t"


def _pauses(raw) -> tuple[Pause, ...]:
    return tuple(Pause(PauseReason(p["reason"]), dt.date.fromisoformat(p["start"]),
                       dt.date.fromisoformat(p["end"]) if p["end"] else None) for p in raw)


def _proposal(raw: dict | None) -> Proposal | None:
    if raw is None:
        return None
    return Proposal(**{**raw, "decision": Decision(raw["decision"]), "documents": tuple(raw["documents"]),
                       "chain": tuple(raw["chain"]), "signatures": tuple(raw["signatures"])})


def task_from_row(row: dict) -> Task:
    return Task(**{**row, "status": TaskStatus(row["status"]), "pauses": _pauses(row["pauses"]),
                   "decision": Decision(row["decision"]) if row["decision"] else None,
                   "documents": tuple(row["documents"]), "proposal": _proposal(row["proposal"]),
                   "signed_off": tuple(row["signed_off"])})


def _row(task: Task) -> list:
    values = []
    for column in _COLUMNS:
        value = getattr(task, column)
        if column == "pauses":
            value = Jsonb([{"reason": p.reason.value, "start": str(p.start), "end": str(p.end) if p.end else None}
                           for p in value])
        elif column in ("documents", "signed_off"):
            value = Jsonb(list(value))
        elif column == "decided_by" and value is not None:
            value = Jsonb(value)
        elif column == "proposal" and value is not None:
            value = Jsonb({"decision": value.decision.value, "opinion": value.opinion,
                           "legal_basis": value.legal_basis, "documents": list(value.documents), "by": value.by,
                           "chain": list(value.chain), "signatures": list(value.signatures)})
        elif column in ("status", "decision") and value is not None:
            value = value.value
        values.append(value)
    return values


def insert_case(uow: UnitOfWork, case_number: str, plan: dict, status: str) -> bool:
    cur = uow.execute(
        "INSERT INTO cases (case_number, item_code, kind, reported_up, plan, stages, current_stage, status, opened_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, 1, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
        [case_number, plan.get("item_code", ""), plan.get("kind", ""), plan.get("reported_up", False), Jsonb(plan),
         len(plan.get("stages", [])), status, uow.time.now()])
    return cur.fetchone() is not None


def case_of(task_id: str) -> str:
    """Task ids start with their case number (see desk.task_id)."""
    return task_id.split(".", 1)[0]


def load_case(uow: UnitOfWork, case_number: str, lock: bool = False) -> dict | None:
    return uow.conn.cursor(row_factory=dict_row).execute(
        "SELECT * FROM cases WHERE case_number = %s" + (" FOR UPDATE" if lock else ""), [case_number]).fetchone()


def suspensions_due(uow: UnitOfWork, today) -> list[tuple[str, str]]:
    return uow.execute("SELECT department, id FROM tasks WHERE status = 'suspended' AND suspended_until <= %s "
                       "ORDER BY suspended_until, id", [today]).fetchall()


def update_case(uow: UnitOfWork, case_number: str, **fields) -> None:
    uow.execute(f"UPDATE cases SET {', '.join(f'{c} = %s' for c in fields)} WHERE case_number = %s",
                [*fields.values(), case_number])


PAUSED = dt.date.max  # the sort key of a task whose clock is paused: after every deadline
_CLOSED = (TaskStatus.DECIDED, TaskStatus.WITHDRAWN)


def due_on(task: Task, cal: WorkingCalendar) -> dt.date | None:
    """The worklist's sort key: an open task's deadline, PAUSED while its clock stands; None once closed."""
    if task.status in _CLOSED:
        return None
    try:
        return task.read(cal, task.assigned_on).deadline or PAUSED
    except CalendarYearMissing:  # a year still to be loaded: the task sorts last rather than stopping the write
        return PAUSED


def insert_tasks(uow: UnitOfWork, tasks: list[Task], cal: WorkingCalendar) -> None:
    with uow.conn.cursor() as cur:
        cur.executemany(f"INSERT INTO tasks ({', '.join(_COLUMNS)}, due_on) "
                        f"VALUES ({', '.join(['%s'] * (len(_COLUMNS) + 1))})",
                        [_row(t) + [due_on(t, cal)] for t in tasks])


def save_task(uow: UnitOfWork, task: Task, cal: WorkingCalendar) -> None:
    uow.execute(f"UPDATE tasks SET {', '.join(f'{c} = %s' for c in _COLUMNS[1:])}, due_on = %s WHERE id = %s",
                _row(task)[1:] + [due_on(task, cal), task.id])


def fill_due(uow: UnitOfWork, cal: WorkingCalendar, batch: int = 500) -> int:
    """Sort keys for open tasks written before they existed (migration 0003); how many were filled."""
    rows = uow.conn.cursor(row_factory=dict_row).execute(
        f"{_SELECT} WHERE t.due_on IS NULL AND {_OPEN} LIMIT %s FOR UPDATE SKIP LOCKED", [batch]).fetchall()
    tasks = [task_from_row(r) for r in rows]
    with uow.conn.cursor() as cur:
        cur.executemany("UPDATE tasks SET due_on = %s WHERE id = %s", [(due_on(t, cal), t.id) for t in tasks])
    return len(tasks)


def load_task(uow: UnitOfWork, task_id: str) -> Task | None:
    row = uow.conn.cursor(row_factory=dict_row).execute(f"{_SELECT} WHERE t.id = %s", [task_id]).fetchone()
    return task_from_row(row) if row else None


def case_tasks(uow: UnitOfWork, case_number: str) -> list[Task]:
    rows = uow.conn.cursor(row_factory=dict_row).execute(
        f"{_SELECT} WHERE t.case_number = %s ORDER BY t.seq", [case_number]).fetchall()
    return [task_from_row(r) for r in rows]


_OPEN = "t.status NOT IN ('decided', 'withdrawn')"


def list_tasks(uow: UnitOfWork, department: str, statuses: list[str], case_number: str | None,
               after_seq: int, limit: int, organisation: str | None = None, holder: str | None = None,
               awaiting_sign_off: bool = False) -> list[tuple[int, Task]]:
    """The department's tasks (at one window or office, or at all of them when None), in seq order;
    only one person's open tasks with `holder`, only proposals waiting for sign-off with
    `awaiting_sign_off`."""
    query = f"{_SELECT.replace('SELECT ', 'SELECT t.seq, ', 1)} WHERE t.department = %s AND t.seq > %s"
    params: list = [department, after_seq]
    if organisation is not None:
        query += " AND t.organisation = %s"
        params.append(organisation)
    if holder is not None:
        query += f" AND t.holder = %s AND {_OPEN}"
        params.append(holder)
    if awaiting_sign_off:
        query += " AND t.proposal IS NOT NULL"
    if statuses:
        query += " AND t.status = ANY(%s)"
        params.append(statuses)
    if case_number:
        query += " AND t.case_number = %s"
        params.append(case_number)
    rows = uow.conn.cursor(row_factory=dict_row).execute(query + " ORDER BY t.seq LIMIT %s", params + [limit])
    return [(r.pop("seq"), task_from_row(r)) for r in rows.fetchall()]


def worklist(uow: UnitOfWork, department: str, organisation: str | None, *, holder: str | None = None,
             with_pool: bool = False, awaiting: str | None = None, statuses: list[str] = (), item_code: str = "",
             stage: int = 0, after: tuple[dt.date, str] | None = None, limit: int = 50) -> tuple[list[Task], int]:
    """Open tasks, the nearest deadline first then by id, after the key `after`; with how many match.

    `holder`: that person's (and with `with_pool` those nobody holds, without a proposal);
    `awaiting`: proposals whose next signature is that post kind's. Only open tasks are read, through
    the partial index on (department, organisation, due_on, id)."""
    where = f"t.department = %s AND {_OPEN}"
    params: list = [department]
    if organisation is not None:
        where += " AND t.organisation = %s"
        params.append(organisation)
    if holder is not None:
        where += " AND (t.holder = %s OR t.holder IS NULL AND t.proposal IS NULL)" if with_pool else \
            " AND t.holder = %s"
        params.append(holder)
    if awaiting is not None:
        where += " AND t.proposal->'chain'->>jsonb_array_length(t.proposal->'signatures') = %s"
        params.append(awaiting)
    if statuses:
        where += " AND t.status = ANY(%s)"
        params.append(list(statuses))
    if item_code:
        where += " AND t.item_code = %s"
        params.append(item_code)
    if stage:
        where += " AND t.stage = %s"
        params.append(stage)
    total = uow.execute(f"SELECT count(*) FROM tasks t WHERE {where}", params).fetchone()[0]
    page = where
    if after is not None:
        page += " AND (t.due_on, t.id) > (%s, %s)"
        params = params + list(after)
    rows = uow.conn.cursor(row_factory=dict_row).execute(
        f"{_SELECT} WHERE {page} ORDER BY t.due_on, t.id LIMIT %s", params + [limit]).fetchall()
    return [task_from_row(r) for r in rows], total


def feed(uow: UnitOfWork, entries: list[tuple[str, str, str]]) -> None:
    """Append (department, task id, reason) to the departments' feeds.

    Taking the department's head row with an update keeps it locked to commit: positions are
    gap-free and become visible in order, so a reader resuming after position n misses nothing.
    Heads are taken in department order so that two transactions never wait on each other.
    """
    entries = sorted(entries)
    departments = sorted({e[0] for e in entries})
    counts = [sum(1 for e in entries if e[0] == d) for d in departments]
    heads = dict(uow.execute(
        "INSERT INTO feed_heads (department, position) SELECT * FROM unnest(%b::text[], %b::bigint[]) "
        "ON CONFLICT (department) DO UPDATE SET position = feed_heads.position + excluded.position "
        "RETURNING department, position", [departments, counts]).fetchall())
    positions, taken = [], {}
    for department, _, _ in entries:  # the last of a department's new positions is its head
        taken[department] = taken.get(department, 0) + 1
        positions.append(heads[department] - counts[departments.index(department)] + taken[department])
    uow.execute("INSERT INTO feed (department, position, task_id, reason, at) "
                "SELECT d, p, t, r, %s FROM unnest(%b::text[], %b::bigint[], %b::text[], %b::text[]) AS x(d, p, t, r)",
                [uow.time.now(), [e[0] for e in entries], positions, [e[1] for e in entries], [e[2] for e in entries]])
    uow.execute("SELECT pg_notify(%s, d) FROM unnest(%b::text[]) AS d", [FEED_CHANNEL, departments])


def feed_head(uow: UnitOfWork, department: str) -> int:
    """The department's latest feed position (0 before its first)."""
    row = uow.execute("SELECT position FROM feed_heads WHERE department = %s", [department]).fetchone()
    return row[0] if row else 0


def feed_after(uow: UnitOfWork, department: str, cursor: int, limit: int = 200) -> list[tuple[int, str, Task]]:
    """The department's feed after `cursor`: its rows first, in their key's order, then each task by
    its key (LATERAL … OFFSET 0 keeps the planner from joining otherwise). A plain join was planned as
    a hash join over every task on a database whose statistics were young: each call read the
    whole table, and the desk API's watchers made it the costliest statement of a case."""
    rows = uow.conn.cursor(row_factory=dict_row).execute(
        "SELECT f.position, f.reason, t.* FROM (SELECT position, reason, task_id FROM feed "
        "WHERE department = %s AND position > %s ORDER BY position LIMIT %s) f "
        f"CROSS JOIN LATERAL ({_SELECT} WHERE t.id = f.task_id OFFSET 0) t ORDER BY f.position",
        [department, cursor, limit])
    return [(r.pop("position"), r.pop("reason"), task_from_row(r)) for r in rows.fetchall()]





def projects(uow: UnitOfWork, items: list[str], ended: bool, after: str, limit: int) -> list[dict]:
    """Cases of these items in handling (or ended), in case number order after `after`."""
    return uow.conn.cursor(row_factory=dict_row).execute(
        "SELECT case_number, item_code, plan, stages, current_stage, status, result, opened_at, concluded_at "
        f"FROM cases WHERE item_code = ANY(%s) AND status {'<>' if ended else '='} 'in_handling' "
        "AND case_number > %s ORDER BY case_number LIMIT %s", [items, after, limit]).fetchall()


def stage_tasks(uow: UnitOfWork, stages: list[tuple[str, int]]) -> dict[str, list[Task]]:
    """Each case's tasks of the given stage, in the order they were written."""
    if not stages:
        return {}
    rows = uow.conn.cursor(row_factory=dict_row).execute(
        f"{_SELECT} JOIN unnest(%b::text[], %b::int[]) AS s(c, n) ON t.case_number = s.c AND t.stage = s.n "
        "ORDER BY t.seq", [[c for c, _ in stages], [n for _, n in stages]]).fetchall()
    found: dict[str, list[Task]] = {}
    for r in rows:
        task = task_from_row(r)
        found.setdefault(task.case_number, []).append(task)
    return found


def pool(uow: UnitOfWork, organisations: list[str], after_seq: int, limit: int) -> list[tuple[int, Task]]:
    """Open tasks nobody holds at these organisations (the pools a centre manager watches), in seq order."""
    rows = uow.conn.cursor(row_factory=dict_row).execute(
        f"{_SELECT.replace('SELECT ', 'SELECT t.seq, ', 1)} WHERE t.holder IS NULL AND {_OPEN} "
        "AND t.organisation = ANY(%s) AND t.seq > %s ORDER BY t.seq LIMIT %s", [organisations, after_seq, limit])
    return [(r.pop("seq"), task_from_row(r)) for r in rows.fetchall()]


def away(uow: UnitOfWork, staff_numbers: list[str], now: dt.datetime) -> set[str]:
    """Which of these persons have an away notice in force now."""
    if not staff_numbers:
        return set()
    return {r[0] for r in uow.execute("SELECT staff_number FROM away_notices WHERE staff_number = ANY(%s) "
                                      "AND back_at > %s", [staff_numbers, now]).fetchall()}


def set_away(uow: UnitOfWork, staff_number: str, back_at: dt.datetime, note: str, by: dict) -> dict:
    return uow.conn.cursor(row_factory=dict_row).execute(
        "INSERT INTO away_notices (staff_number, back_at, note, set_by, set_at) VALUES (%s, %s, %s, %s, %s) "
        "ON CONFLICT (staff_number) DO UPDATE SET back_at = excluded.back_at, note = excluded.note, "
        "set_by = excluded.set_by, set_at = excluded.set_at RETURNING *",
        [staff_number, back_at, note, Jsonb(by), uow.time.now()]).fetchone()


def clear_away(uow: UnitOfWork, staff_number: str) -> dict | None:
    return uow.conn.cursor(row_factory=dict_row).execute(
        "DELETE FROM away_notices WHERE staff_number = %s RETURNING *", [staff_number]).fetchone()


def away_notices(uow: UnitOfWork, staff_numbers: list[str], now: dt.datetime) -> list[dict]:
    """The away notices in force now of these persons, the soonest back first."""
    return uow.conn.cursor(row_factory=dict_row).execute(
        "SELECT * FROM away_notices WHERE staff_number = ANY(%s) AND back_at > %s ORDER BY back_at, staff_number",
        [staff_numbers, now]).fetchall()
