"""Who may call each method of the department desk API, and which tasks a caller may handle."""
from __future__ import annotations

from hall.catalogue import OrgChart
from hall.domain import VILLAGE_COMMITTEE
from hall.staff import Person, PostKind
from services.access import Caller, Role
from services.errors import Forbidden, NotFound

D, S, L, M, C = Role.DEPARTMENT, Role.SUPERVISOR, Role.LEADER, Role.MANAGER, Role.CLERK

# Every method of the API and the roles that may call it; a method missing here is refused.
ROLES: dict[str, frozenset[Role]] = {k: frozenset(v) for k, v in {
    "ListTasks": {D, C},  # C: a village room's cadres, its village committee's matters (task_scope)
    "WatchTasks": {D},
    "GetProgress": {D, S, L},  # the office and leaders read every case
    "Claim": {D},
    "RequestSupplement": {D},
    "StartSpecialProcedure": {D},
    "EndSpecialProcedure": {D},
    "Suspend": {D},
    "Resume": {D},
    "RequestCoHandling": {D},
    "Decide": {D, C},
    "SignOff": {D},  # a person at an approver or checker post
    "SetAway": {D, M},  # a person's own away notice; the centre manager marks a person absent
    "ClearAway": {D, M},
    "ListAway": {M, S, L},
    "ListPool": {M, S, L},
    "MoveTasks": {M},
    "ListProjects": {D},  # a lead department's persons and system
}.items()}

# Methods whose answered calls are not recorded in the audit log (tasks carry no applicant's personal
# data); every other call is, and every refused one.
QUIET = frozenset({"ListTasks", "WatchTasks", "GetProgress", "ListAway", "ListPool", "ListProjects"})


def task_scope(caller: Caller) -> tuple[str, str | None]:
    """(department, organisation) of the tasks a department caller works on: a department's system
    all of its department's, at every window and office (None); a person those of their post's
    window or office only (a township station's handler not the county bureau's, nor the reverse).
    A clerk (its person or its system) works on the village committee's matters at its own organisation
    only: a village room's cadres settle them on the spot (村委会证明、意见); a clerk elsewhere has none."""
    if caller.role == Role.CLERK:
        return VILLAGE_COMMITTEE, caller.organisation
    return caller.code, caller.organisation if caller.person else None


def may_handle(caller: Caller, task) -> None:
    department, organisation = task_scope(caller)
    if task.department != department:
        raise Forbidden(f"task {task.id} belongs to another department")
    if organisation is not None and task.organisation != organisation:
        raise Forbidden(f"task {task.id} is handled at {task.organisation}, not at {organisation}")


def post_kind(caller: Caller) -> PostKind | None:
    """The kind of a signed-in person's post (post ids are organisation/kind/seat); None for a system."""
    parts = caller.post.split("/")
    return PostKind(parts[1]) if len(parts) == 3 and parts[1] in PostKind.__members__.values() else None


def may_oversee(caller: Caller, organisation: str, org: OrgChart) -> bool:
    """A centre's manager and leaders oversee its windows, offices and rooms and those of the centres
    below it; the supervision office oversees every one."""
    if caller.role == Role.SUPERVISOR:
        return True
    return caller.role in (Role.MANAGER, Role.LEADER) and caller.organisation in org.centres_over(organisation)


def may_mark_away(caller: Caller, person: Person | None, org: OrgChart) -> None:
    """A person records their own away notice; a centre manager that of a person at a post it oversees."""
    if person is None or not person.active:
        raise NotFound("no such active person in the staff register")
    if caller.person and caller.person == person.staff_number and caller.role == Role.DEPARTMENT:
        return
    if caller.role == Role.MANAGER and any(may_oversee(caller, h.at, org) for h in person.posts):
        return
    raise Forbidden(f"{caller} may not set the away notice of {person.staff_number}")
