"""Who a caller is, by the org chart and the staff register: the holders of system tokens
(departments' systems, organisations' clerks' systems, agents, the supervision office, the web
front, the hall's own API processes) and signed-in persons by the post their credential names."""
from __future__ import annotations

from services.access import Caller, Role

from .catalogue import OrgChart

SUPERVISION_OFFICE = "supervision"  # the tokens file's name for the supervision office
WEB_FRONT = "web"  # the trusted front: the web pages
HALL_APIS = "apis"  # the hall's own API processes, asking the identity service for its trust


def holder_role(holder: str, org: OrgChart) -> Caller | None:
    """The caller a token holder is; None for a code the org chart no longer knows."""
    if holder == SUPERVISION_OFFICE:
        return Caller(Role.SUPERVISOR, holder)
    if holder == WEB_FRONT:
        return Caller(Role.FRONT, holder)
    if holder == HALL_APIS:
        return Caller(Role.HALL, holder)
    if org.department(holder) is not None:
        return Caller(Role.DEPARTMENT, holder)
    if org.organisation(holder) is not None:
        return Caller(Role.CLERK, holder, holder)
    agent = org.agent(holder)
    return Caller(Role.AGENT, holder, agent.organisation) if agent is not None else None


def holders(org: OrgChart) -> list[str]:
    """Everyone who gets a system token: departments, organisations, agents, the supervision
    office, the web front and the hall's API processes."""
    return ([d.code for d in org.departments] + [o.code for o in org.organisations]
            + [a.code for a in org.agents] + [SUPERVISION_OFFICE, WEB_FRONT, HALL_APIS])


# What each post makes its holder (hall.staff.PostKind's values).
POST_ROLES = {
    "acceptance_clerk": Role.CLERK, "window_clerk": Role.CLERK,
    "handler": Role.DEPARTMENT, "approver": Role.DEPARTMENT, "checker": Role.DEPARTMENT,
    "centre_manager": Role.MANAGER, "supervision_officer": Role.SUPERVISOR, "leader": Role.LEADER,
    "proxy_agent": Role.AGENT, "it_admin": Role.ADMIN,
}


def person_caller(claims: dict, org: OrgChart) -> Caller | None:
    """The caller a verified credential makes: a clerk for its organisation, a handler for its
    department at its window or office (never the department's other offices), an agent as the org
    chart's agent, the supervision office, a centre's manager or leader, county IT. None when the
    org chart no longer has the post's organisation (or department, or agent)."""
    role = POST_ROLES.get(claims.get("kind", ""))
    organisation = org.organisation(claims.get("org", ""))
    if role is None or organisation is None:
        return None
    code = organisation.code
    if role == Role.DEPARTMENT:
        if organisation.department is None:
            return None
        code = organisation.department
    elif role == Role.SUPERVISOR:
        code = SUPERVISION_OFFICE
    elif role == Role.AGENT:
        agent = org.agent(claims.get("agent", ""))
        if agent is None or agent.organisation != organisation.code:
            return None
        code = agent.code
    return Caller(role, code, organisation.code, person=claims["sub"], post=claims["post"],
                  name=claims.get("name", ""))
