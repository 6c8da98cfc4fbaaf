"""The proxy agent's side of intake (代办制): the agent's ledger (代办台账) of its own proxy cases and the
办结反馈单 (代办事项落实卡) it records when the applicant has received the result. Pure: no storage, no
transport (the queries are `store.list_agent_cases` and `store.ledger_counts`)."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import Enum

from hall.calendar import CalendarYearMissing, WorkingCalendar
from hall.catalogue import Catalogue
from hall.domain import CaseStatus
from services.access import Caller, Role
from services.errors import Forbidden, NotAllowedNow, Violations
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


def waiting_for(row: dict, owed: list) -> list[str]:
    """What the agent has to do for a case: bring the materials owed, fetch and deliver an issued result,
    get the 办结反馈单 signed."""
    found = ["materials"] if owed else []
    if row["status"] == CaseStatus.CONCLUDED.value and row["card_signed_on"] is None:
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


def ledger_row(row: dict, catalogue: Catalogue, calendar: WorkingCalendar, today: dt.date) -> dict:
    """One case of the ledger: the desk's summary (ID number and phone masked), the days, what is waited for."""
    summary = window.summary(row, catalogue)
    item = catalogue.item(row["item_code"])
    return {"summary": summary, "days_used": days_used(row, calendar, today),
            "limit_days": item.promised_limit_days if item else 0,
            "waiting_for": waiting_for(row, summary["owed"]), "ended_on": ended_on(row),
            "result": row["result"] or "", "card_signed_on": row["card_signed_on"]}


# --- the 办结反馈单 ------------------------------------------------------------------------------------

MARKS = ("signature", "thumbprint")


@dataclass(frozen=True)
class ResultCard:
    """办结反馈单: the applicant received the result and signed (or thumb-printed) the card that day."""
    request_id: str
    signed_on: dt.date
    mark: str


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
