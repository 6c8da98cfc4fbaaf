"""Who may call each method of the intake API, and which cases a clerk or an agent may act on."""
from __future__ import annotations

from services.access import Caller, Role
from services.errors import Forbidden

D, C, A, S, P = Role.DEPARTMENT, Role.CLERK, Role.AGENT, Role.SUPERVISOR, Role.PUBLIC
M, L = Role.MANAGER, Role.LEADER
EVERYONE = set(Role)  # public: no token, or a token of any kind (a signed-in clerk reads the guide too)

# Every method of the API and the roles that may call it; a method missing here is refused.
ROLES: dict[str, frozenset[Role]] = {k: frozenset(v) for k, v in {
    "Submit": {C, A},
    "SupplyMaterials": {C, A},
    "Withdraw": {C, A},  # at the applicant's request, who proves it with the phone digits
    "GetCase": {C, A, S, M, L},  # managers and leaders read their centres' cases
    "Track": {P, C, A, D, S},
    "ListItems": EVERYONE,  # the guide (办事指南)
    "GetItem": EVERYONE,
    "GetBoard": EVERYONE,  # the hall board (大屏): counts only
    "ListCases": {C, A},  # the desk's own cases (本窗口今日): a clerk its organisation's, an agent its own
    "RecordFee": {C},  # 一次性收费 at the window; an agent collects nothing (代办 is free of charge)
    "ListAgentCases": {A},  # 代办台账: an agent's own proxy cases
    "RecordResultCard": {A},  # 办结反馈单: the case's own agent
    "HandOver": {A},  # the village agent to a township agent (乡级代办员)
    "ConfirmHandOver": {A},  # the township agent the hand-over names
    "GetCarryList": {A},  # 携带清单: a village agent's
    "ReassignAgentCases": {A, M},  # an agent leaving office, or its township centre's manager
}.items()}

# Methods whose answered calls are not recorded in the audit log (the public lookup has its own
# limits; the guide and the board hold no personal data). GetCase and ListCases show applicants'
# names to staff, views of personal data, and are recorded; so is every other call, and every
# refused one.
QUIET = frozenset({"Track", "ListItems", "GetItem", "GetBoard"})


def may_submit(caller: Caller, organisation: str, agent: str | None) -> None:
    """A clerk files into its own organisation; an agent files its own proxy cases there too."""
    if caller.role == Role.CLERK and organisation != caller.organisation:
        raise Forbidden(f"clerks of {caller.organisation} submit to {caller.organisation} only")
    if caller.role == Role.AGENT and (agent != caller.code or organisation != caller.organisation):
        raise Forbidden(f"agent {caller.code} submits its own proxy cases to {caller.organisation} only")


def may_see_case(caller: Caller, organisation: str, agent: str | None, centres: list[str],
                 carriers: tuple = ()) -> None:
    """A case accepted at an organisation is its clerks'; a proxy case its agent's too, and the township
    agent's it was handed over to, or the agent's who accompanied the applicant (`carriers`: carrying it,
    to confirm it, 带领); the cases of a centre
    (`centres`: those over the case's organisation) its manager's and leaders' to read; all the
    supervision office's."""
    if caller.role == Role.SUPERVISOR or (caller.role == Role.CLERK and organisation == caller.organisation) \
            or (caller.role == Role.AGENT and caller.code in (agent, *carriers)) \
            or (caller.role in (Role.MANAGER, Role.LEADER) and caller.organisation in centres):
        return
    raise Forbidden(f"{caller} may not see or act on a case accepted at {organisation}")
