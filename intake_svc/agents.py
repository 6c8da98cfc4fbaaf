"""The proxy agent's side of intake (代办制): the agent's ledger (代办台账) of its own proxy cases and the
办结反馈单 (代办事项落实卡) it records when the applicant has received the result. Pure: no storage, no
transport (the queries are `store.list_agent_cases` and `store.ledger_counts`)."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import Enum

from hall.calendar import CalendarYearMissing, WorkingCalendar
from hall.catalogue import Catalogue, OrgChart
from hall.domain import CaseStatus, Level, OrgKind
from services.access import Caller, Role
from services.errors import Forbidden, InvalidRequest, NotAllowedNow, Violations
from services.timesource import local_day

from . import window

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
ENDED = (CaseStatus.CONCLUDED.value, CaseStatus.NOT_ACCEPTED.value, CaseStatus.WITHDRAWN.value)


class View(str, Enum):
    """Which of an agent's cases a ledger page lists."""
    ALL = "all"
    OPEN = "open"  # accepted and not ended, or waiting for a one-time notice's materials
    WAITING = "waiting"  # waiting for the agent: materials owed, or concluded and the card not signed
    CONCLUDED = "concluded"  # ended: concluded, not accepted, withdrawn


@dataclass(frozen=True)
class LedgerQuery:
    agent: str
    view: View
    size: int
    after: tuple[dt.datetime, str] | None


def ledger_query(caller: Caller, view: View, page_size: int, page_token: str) -> LedgerQuery:
    """An agent's own cases, whatever organisation accepted them; nobody else has a ledger."""
    if caller.role != Role.AGENT or not caller.code:
        raise Forbidden(f"{caller} is not a proxy agent: no ledger")
    v = Violations()
    size = page_size or window.PAGE_SIZE
    if not 1 <= size <= window.LARGEST_PAGE:
        v.add("page_size", f"between 1 and {window.LARGEST_PAGE}")
    after = None
    if page_token:
        after = window.read_token(page_token)
        if after is None:
            v.add("page_token", window.BAD_TOKEN)
    v.check()
    return LedgerQuery(caller.code, view, size, after)


def ended_on(row: dict) -> dt.date | None:
    return local_day(row["archived_at"]) if row["archived_at"] and row["status"] in ENDED else None


def role(row: dict, agent: str) -> str:
    """The agent's part in a case: accepted it for the applicant, carries it up, is to confirm receiving it,
    or accompanied the applicant to it (带领)."""
    if row["handover_to"] == agent:
        return "receiving"
    if row["accompanied_by"] == agent:
        return "accompanied"
    return "carrier" if row["carrier"] == agent and row["agent"] != agent else "agent"


def waiting_for(row: dict, owed: list, part: str = "agent") -> list[str]:
    """What the agent has to do for a case: bring the materials owed; and the agent who accepted it (who
    answers to the applicant) fetch and deliver an issued result and get the 办结反馈单 signed; confirm
    receiving a case handed over."""
    if part == "receiving":
        return ["handover"]
    if part == "accompanied":  # the applicant attends in person and brings and receives everything
        return []
    found = ["materials"] if owed else []
    if part == "agent" and row["status"] == CaseStatus.CONCLUDED.value and row["card_signed_on"] is None:
        found += ["result", "card"] if row["result"] == "issued" else ["card"]
    return found


def days_used(row: dict, calendar: WorkingCalendar, today: dt.date) -> int:
    """Working days from acceptance to today, or to the day the case ended (the day of acceptance not
    counted). Pauses are not taken off: supervision's clock is the measure of lateness."""
    if row["accepted_on"] is None:
        return 0
    try:
        return calendar.between(row["accepted_on"], ended_on(row) or today)
    except CalendarYearMissing:
        return 0


def ledger_row(row: dict, agent: str, catalogue: Catalogue, calendar: WorkingCalendar, today: dt.date) -> dict:
    """One case of `agent`'s ledger: the desk's summary (ID number and phone masked), the days, the agent's
    part in it and what is waited for from the agent."""
    summary = window.summary(row, catalogue)
    item = catalogue.item(row["item_code"])
    part = role(row, agent)
    return {"summary": summary, "days_used": days_used(row, calendar, today),
            "limit_days": item.promised_limit_days if item else 0,
            "waiting_for": waiting_for(row, summary["owed"], part), "ended_on": ended_on(row),
            "result": row["result"] or "", "card_signed_on": row["card_signed_on"], "role": part}


# --- the 办结反馈单 ------------------------------------------------------------------------------------

MARKS = ("signature", "thumbprint")


@dataclass(frozen=True)
class ResultCard:
    """办结反馈单: the applicant received the result and signed (or thumb-printed) the card that day."""
    request_id: str
    signed_on: dt.date
    mark: str


def day_of(text: str, field: str) -> dt.date:
    """A day (YYYY-MM-DD) given in a request, else a field error."""
    try:
        day = dt.date.fromisoformat(text) if _DAY.match(text or "") else None
    except ValueError:
        day = None
    if day is None or not window.FIRST_DAY <= day <= window.LAST_DAY:
        raise InvalidRequest([(field, "a day (YYYY-MM-DD)")])
    return day


def result_card(request_id: str, signed_on: str, mark: str) -> ResultCard:
    """The card as asked, each wrong field named."""
    v = Violations()
    v.require(request_id, "request_id", 64)
    day = None
    try:
        day = dt.date.fromisoformat(signed_on) if _DAY.match(signed_on or "") else None
    except ValueError:
        pass
    if day is None:
        v.add("signed_on", "a day (YYYY-MM-DD)")
    if mark not in MARKS:
        v.add("mark", "SIGNATURE or THUMBPRINT")
    v.check()
    return ResultCard(request_id, day, mark)


def may_record_card(caller: Caller, row: dict, card: ResultCard, today: dt.date) -> bool:
    """Whether to record the card now: the caller is the case's agent, the case concluded, the day not
    before it concluded nor after today. False when this same request recorded it already; another
    request on a case with its card recorded is refused."""
    if caller.role != Role.AGENT or row["agent"] != caller.code:
        raise Forbidden(f"only the case's agent records its 办结反馈单, not {caller}")
    if row["card_signed_on"] is not None:
        if row["card_request_id"] == card.request_id:
            return False
        raise NotAllowedNow(f"the 办结反馈单 of case {row['case_number']} was recorded already")
    if row["status"] != CaseStatus.CONCLUDED.value:
        raise NotAllowedNow(f"case {row['case_number']} is {row['status']}: it has no result to sign for yet")
    concluded = ended_on(row)
    v = Violations()
    if concluded and card.signed_on < concluded:
        v.add("signed_on", f"not before the case concluded ({concluded})")
    if card.signed_on > today:
        v.add("signed_on", "not after today")
    v.check()
    return True


# --- the village → township hand-over (乡级代办员) --------------------------------------------------------

NOTE_LIMIT = 500


def may_hand_over(caller: Caller, row: dict, to_agent: str, note: str, org: OrgChart, catalogue: Catalogue) -> bool:
    """Whether to record the hand-over now: the caller is the case's village agent, the case open and
    accepted at a village room, its matter decided at the county (a township matter the village agent takes
    to the township centre itself), `to_agent` a township agent of the township over that room. False when
    this same hand-over is pending already."""
    if caller.role != Role.AGENT or row["agent"] != caller.code:
        raise Forbidden(f"only the agent who accepted case {row['case_number']} hands it over, not {caller}")
    v = Violations()
    room = org.organisation(row["organisation"])
    township = room.parent if room is not None and room.kind == OrgKind.VILLAGE_ROOM else None
    target = org.agent(to_agent) if to_agent else None
    if target is None or township is None or target.organisation != township:
        v.add("to_agent", f"a township agent of {township or 'the township over the village room'}")
    if len(note or "") > NOTE_LIMIT:
        v.add("note", f"at most {NOTE_LIMIT} characters")
    v.check()
    if row["handover_to"] == to_agent:
        return False
    if row["status"] in ENDED:
        raise NotAllowedNow(f"case {row['case_number']} is {row['status']}: nothing to carry")
    if row["carrier"] or row["handover_to"]:
        raise NotAllowedNow(f"case {row['case_number']} is handed over already "
                            f"({row['carrier'] or row['handover_to']})")
    item = catalogue.item(row["item_code"])
    if item is None or item.decided_at != Level.COUNTY:
        raise NotAllowedNow(f"{row['item_code']} is decided at the township: the village agent takes it there")
    return True


def may_confirm_hand_over(caller: Caller, row: dict) -> bool:
    """Whether to record the township agent's receipt now: the hand-over names the caller. False when the
    caller confirmed it already (it carries the case)."""
    if caller.role == Role.AGENT and row["carrier"] == caller.code and row["handover_to"] is None:
        return False
    if caller.role != Role.AGENT or row["handover_to"] != caller.code:
        raise Forbidden(f"no hand-over of case {row['case_number']} to {caller} is waiting")
    return True


# --- the carry list (携带清单) of a village agent's fixed days at the township centre ------------------------

CARRY_LIMIT = 500  # an agent's active cases read for one list, newest first


def carry_days(day: dt.date, weekdays: tuple[int, ...]) -> tuple[dt.date, dt.date]:
    """The first fixed day on or after `day`, and the fixed day before it."""
    ahead = next(day + dt.timedelta(days=n) for n in range(7) if (day + dt.timedelta(days=n)).weekday() in weekdays)
    before = next(ahead - dt.timedelta(days=n) for n in range(1, 8)
                  if (ahead - dt.timedelta(days=n)).weekday() in weekdays)
    return ahead, before


def village_agents_township(caller: Caller, org: OrgChart) -> str:
    """The township centre a village agent goes to on its fixed days."""
    if caller.role != Role.AGENT:
        raise Forbidden(f"{caller} is not a proxy agent: no carry list")
    agent = org.agent(caller.code)
    room = org.organisation(agent.organisation) if agent else None
    if room is None or room.kind != OrgKind.VILLAGE_ROOM:
        raise NotAllowedNow("the carry list is a village agent's: a township agent is at its centre")
    return room.parent


def carry(row: dict, owed: list, catalogue: Catalogue, since: dt.date, until: dt.date) -> list[str]:
    """What of a village agent's case goes to the township centre on the fixed day `until` (the one before
    it `since`), or comes back from it."""
    found = []
    if row["status"] in ENDED:
        if row["status"] == CaseStatus.CONCLUDED.value and row["result"] == "issued" and not row["card_signed_on"]:
            found.append("result")
        return found
    accepted = row["status"] != CaseStatus.SUPPLEMENT_REQUIRED.value  # a notice's case waits for its materials
    if accepted and since < local_day(row["received_at"]) <= until and not row["carrier"] and not row["handover_to"]:
        found.append("papers")
    if owed:
        found.append("materials")
    item = catalogue.item(row["item_code"])
    if item is not None and item.decided_at == Level.COUNTY and not row["carrier"] and not row["handover_to"]:
        found.append("handover")
    return found


# --- an agent leaving office (离任): its cases to another agent of the township ----------------------------

def township_of(org: OrgChart, agent_code: str) -> str | None:
    """The township centre an agent works under (its own centre, or the one over its village or group)."""
    agent = org.agent(agent_code)
    if agent is None:
        return None
    return next((c for c in org.centres_over(agent.organisation)
                 if (o := org.organisation(c)) is not None and o.kind == OrgKind.CENTRE and o.level == Level.TOWNSHIP),
                None)


def may_reassign(caller: Caller, from_agent: str, to_agent: str, reason: str, org: OrgChart) -> None:
    """The leaving agent itself, or the manager of its township centre, hands its cases to another agent of
    the same township."""
    v = Violations()
    township = township_of(org, from_agent)
    if township is None:
        v.add("from_agent", "a known agent of a township")
    if to_agent == from_agent or township_of(org, to_agent) is None or township_of(org, to_agent) != township:
        v.add("to_agent", f"another agent of {township or 'the same township'}")
    v.require(reason, "reason", NOTE_LIMIT)
    v.check()
    if not ((caller.role == Role.AGENT and caller.code == from_agent)
            or (caller.role == Role.MANAGER and caller.organisation == township)):
        raise Forbidden(f"{caller} may not reassign the cases of {from_agent}")


def reassigned(row: dict, from_agent: str, to_agent: str) -> dict:
    """The changes to a case's row that give `from_agent`'s part in it to `to_agent`."""
    return {column: to_agent for column in ("agent", "carrier", "handover_to") if row[column] == from_agent}
