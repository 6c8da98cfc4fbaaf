"""Approval's tables: cases in handling, tasks, and each department's feed of new work."""
from __future__ import annotations

import datetime as dt

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

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


def insert_tasks(uow: UnitOfWork, tasks: list[Task]) -> None:
    with uow.conn.cursor() as cur:
        cur.executemany(f"INSERT INTO tasks ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})",
                        [_row(t) for t in tasks])


def save_task(uow: UnitOfWork, task: Task) -> None:
    uow.execute(f"UPDATE tasks SET {', '.join(f'{c} = %s' for c in _COLUMNS[1:])} WHERE id = %s",
                _row(task)[1:] + [task.id])


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
        "INSERT INTO feed_heads (department, position) SELECT * FROM unnest(%s::text[], %s::bigint[]) "
        "ON CONFLICT (department) DO UPDATE SET position = feed_heads.position + excluded.position "
        "RETURNING department, position", [departments, counts]).fetchall())
    positions, taken = [], {}
    for department, _, _ in entries:  # the last of a department's new positions is its head
        taken[department] = taken.get(department, 0) + 1
        positions.append(heads[department] - counts[departments.index(department)] + taken[department])
    uow.execute("INSERT INTO feed (department, position, task_id, reason, at) "
                "SELECT d, p, t, r, %s FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::text[]) AS x(d, p, t, r)",
                [uow.time.now(), [e[0] for e in entries], positions, [e[1] for e in entries], [e[2] for e in entries]])
    uow.execute("SELECT pg_notify(%s, d) FROM unnest(%s::text[]) AS d", [FEED_CHANNEL, departments])


def feed_after(uow: UnitOfWork, department: str, cursor: int, limit: int = 200) -> list[tuple[int, str, Task]]:
    rows = uow.conn.cursor(row_factory=dict_row).execute(
        f"{_SELECT.replace('SELECT ', 'SELECT f.position, f.reason, ', 1)} JOIN feed f ON f.task_id = t.id "
        "WHERE f.department = %s AND f.position > %s ORDER BY f.position LIMIT %s", [department, cursor, limit])
    return [(r.pop("position"), r.pop("reason"), task_from_row(r)) for r in rows.fetchall()]





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
