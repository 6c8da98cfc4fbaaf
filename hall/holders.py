"""Who holds an API token, by the org chart: departments (承办单位), organisations (their acceptance
clerks, 受理员; the online hall submits as the organisation it files into), agents (代办员) and the
supervision office (电子监察)."""
from __future__ import annotations

from services.access import Caller, Role

from .catalogue import OrgChart

SUPERVISION_OFFICE = "supervision"  # the tokens file's name for the supervision office


def holder_role(holder: str, org: OrgChart) -> Caller | None:
    """The caller a token holder is; None for a code the org chart no longer knows."""
    if holder == SUPERVISION_OFFICE:
        return Caller(Role.SUPERVISOR, holder)
    if org.department(holder) is not None:
        return Caller(Role.DEPARTMENT, holder)
    if org.organisation(holder) is not None:
        return Caller(Role.CLERK, holder, holder)
    agent = org.agent(holder)
    return Caller(Role.AGENT, holder, agent.organisation) if agent is not None else None


def holders(org: OrgChart) -> list[str]:
    """Everyone who gets a token: departments, organisations, agents and the supervision office."""
    return ([d.code for d in org.departments] + [o.code for o in org.organisations]
            + [a.code for a in org.agents] + [SUPERVISION_OFFICE])
