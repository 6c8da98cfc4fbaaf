"""Transfer rules (转办): from the accepting organisation to the deciding one, and the stages.

Village room → township centre → county centre, each hop to the centre's acceptance desk;
at the deciding level, the desk → the department's window or back office. Whatever the township
can decide stays there. Each hop has its own limit. A parallel-approval item's stages come from
the catalogue, each with its lead and one task per department; a joint item (联办) is one stage of
its department and its co-departments; any other item is one stage of one task.
"""
from __future__ import annotations

import datetime as dt

from hall.calendar import WorkingCalendar
from hall.catalogue import Item, Organisation, OrgChart
from hall.domain import ItemKind, Level, OrgKind


def _desk(org: OrgChart, centre: Organisation) -> Organisation:
    desks = [o for o in org.organisations if o.parent == centre.code and o.kind == OrgKind.ACCEPTANCE_DESK]
    return desks[0] if desks else centre


def _centre_at(org: OrgChart, start: Organisation, level: Level) -> Organisation:
    centre = org.centre_of(start)
    while centre.level != level:
        centre = org.organisation(centre.parent)
    return centre


def transfers(org: OrgChart, item: Item, accepting: Organisation) -> list[Organisation]:
    """The organisations the case passes through after the accepting one, up to the deciding office."""
    path, here = [], accepting
    while here.level.rank < item.decided_at.rank:
        parent = org.organisation(org.centre_of(here).parent)
        here = _desk(org, parent)
        path.append(here)
    deciding = org.office_for(item.department, _centre_at(org, here, item.decided_at).code)
    if deciding.code != here.code:
        path.append(deciding)
    return path


def stages(org: OrgChart, item: Item, centre: Organisation) -> list[dict]:
    if item.stages:
        plan = [(s.name, s.lead, s.departments, s.limit_days) for s in item.stages]
    elif item.kind == ItemKind.JOINT:
        plan = [("联办", item.department, [item.department, *item.co_departments], item.promised_limit_days)]
    else:
        plan = [("承办", item.department, [item.department], item.promised_limit_days)]
    return [{"index": i, "name": name, "lead": lead, "limit_days": limit,
             "tasks": [{"department": d, "organisation": org.office_for(d, centre.code).code} for d in departments]}
            for i, (name, lead, departments, limit) in enumerate(plan, start=1)]


def route(org: OrgChart, item: Item, accepting_code: str, accepted_on: dt.date, cal: WorkingCalendar,
          hop_limit_days: int) -> dict:
    """The CaseRouted payload of an accepted case."""
    accepting = org.organisation(accepting_code)
    hops, start, here = [], accepted_on, accepting
    for target in transfers(org, item, accepting):
        deadline = cal.add(start, hop_limit_days)
        hops.append({"from_organisation": here.code, "to_organisation": target.code, "to_level": target.level.value,
                     "limit_days": hop_limit_days, "deadline": deadline})
        here, start = target, deadline
    centre = _centre_at(org, here, item.decided_at)
    return {"item_code": item.code, "kind": item.kind.value, "transfers": hops,
            "deciding_level": item.decided_at.value, "reported_up": item.kind == ItemKind.REPORTED,
            "stages": stages(org, item, centre)}
