"""Who may call each method of the department desk API, and which tasks a caller may handle."""
from __future__ import annotations

from services.access import Caller, Role
from services.errors import Forbidden

D, S, L = Role.DEPARTMENT, Role.SUPERVISOR, Role.LEADER

# Every method of the API and the roles that may call it; a method missing here is refused.
ROLES: dict[str, frozenset[Role]] = {k: frozenset(v) for k, v in {
    "ListTasks": {D},
    "WatchTasks": {D},
    "GetProgress": {D, S, L},  # the office and leaders read every case
    "Claim": {D},
    "RequestSupplement": {D},
    "StartSpecialProcedure": {D},
    "EndSpecialProcedure": {D},
    "Suspend": {D},
    "Resume": {D},
    "RequestCoHandling": {D},
    "Decide": {D},
}.items()}

# Methods whose answered calls are not recorded in the audit log (tasks carry no applicant's personal
# data); every other call is, and every refused one.
QUIET = frozenset({"ListTasks", "WatchTasks", "GetProgress"})


def task_scope(caller: Caller) -> tuple[str, str | None]:
    """(department, organisation) of the tasks a department caller works on: a department's system
    all of its department's, at every window and office (None); a person those of their post's
    window or office only (a township station's handler not the county bureau's, nor the reverse)."""
    return caller.code, caller.organisation if caller.person else None


def may_handle(caller: Caller, task) -> None:
    department, organisation = task_scope(caller)
    if task.department != department:
        raise Forbidden(f"task {task.id} belongs to another department")
    if organisation is not None and task.organisation != organisation:
        raise Forbidden(f"task {task.id} is handled at {task.organisation}, not at {organisation}")
