"""The desk's own cases (本窗口今日): which cases a clerk or an agent lists, what each row says, and the
pages. Pure: no storage, no transport (the query is `store.list_cases`)."""
from __future__ import annotations

import base64
import datetime as dt
import re
from dataclasses import dataclass

from hall.catalogue import Catalogue
from hall.domain import CaseStatus
from hall.reference import Reference
from services.access import Caller, Role
from services.errors import Forbidden, Violations
from services.privacy import mask_id, mask_phone
from services.timesource import CHINA

from .fees import yuan
from .guide import fee_text

PAGE_SIZE, LARGEST_PAGE = 20, 100
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
BAD_TOKEN = "a token from a previous reply"
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2099, 12, 31)  # no hall's case lies outside


@dataclass(frozen=True)
class CaseQuery:
    """The cases of `organisation` (an agent's: those it carried, `agent`), received or accepted on
    `day` (China time) if given, waiting for materials if asked, `size` of them after `after`
    (received_at, case_number), newest first."""

    organisation: str
    agent: str | None
    day: dt.date | None
    waiting: bool
    size: int
    after: tuple[dt.datetime, str] | None

    def day_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        start = dt.datetime.combine(self.day, dt.time(), CHINA)
        return start, start + dt.timedelta(days=1)


def case_query(caller: Caller, accepted_on: str, waiting: bool, page_size: int, page_token: str) -> CaseQuery:
    """Whose cases a caller lists: a clerk its organisation's (the cases it is the window of), an agent
    its own proxy cases; the rest of the hall reads cases one by one (GetCase)."""
    if caller.role not in (Role.CLERK, Role.AGENT):
        raise Forbidden(f"{caller} lists no window's cases")
    v = Violations()
    day = None
    if accepted_on:
        try:
            day = dt.date.fromisoformat(accepted_on) if _DAY.match(accepted_on) else None
        except ValueError:
            pass
        if day is None or not FIRST_DAY <= day <= LAST_DAY:
            v.add("accepted_on", "a day (YYYY-MM-DD)")
            day = None
    size = page_size or PAGE_SIZE
    if not 1 <= size <= LARGEST_PAGE:
        v.add("page_size", f"between 1 and {LARGEST_PAGE}")
    after = None
    if page_token:
        after = read_token(page_token)
        if after is None:
            v.add("page_token", BAD_TOKEN)
    v.check()
    agent = caller.code if caller.role == Role.AGENT else None
    return CaseQuery(caller.organisation, agent, day, waiting, size, after)


def page_token(received_at: dt.datetime, case_number: str) -> str:
    """The token of the page after the row (received_at, case_number): opaque to the client."""
    return base64.urlsafe_b64encode(f"{received_at.isoformat()}|{case_number}".encode()).decode()


def read_token(token: str) -> tuple[dt.datetime, str] | None:
    try:
        at, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition("|")
        received_at = dt.datetime.fromisoformat(at)
    except ValueError:  # not base64, not UTF-8, not a time (binascii.Error is a ValueError)
        return None
    if received_at.tzinfo is None or not number or len(number) > 64 or "\x00" in number:
        return None
    return received_at, number


def owed(row: dict, catalogue: Catalogue) -> list[tuple[str, str, str]]:
    """(code, name, what asked for it) of each material the applicant still owes: the one-time notice's
    while it stands unanswered, the 容缺 commitment's not yet brought, a department's pending request."""
    item = catalogue.item(row["item_code"])
    found: list[tuple[str, str]] = []
    if row["status"] == CaseStatus.SUPPLEMENT_REQUIRED.value:
        found += [(line["material_code"], "one_time_notice") for line in row["receipt"]["one_time_notice"]]
    open_case = row["status"] not in (CaseStatus.CONCLUDED.value, CaseStatus.WITHDRAWN.value,
                                      CaseStatus.NOT_ACCEPTED.value)
    if open_case:
        found += [(code, "commitment") for code in row["promised_materials"]]
    if row["status"] == CaseStatus.WAITING_SUPPLEMENT.value and row["pending_supplement"]:
        found += [(code, "department") for code in row["pending_supplement"]["materials"]]

    def name(code: str) -> str:
        material = item.material(code) if item else None
        return material.name if material else code
    return [(code, name(code), why) for code, why in found]


def summary(row: dict, catalogue: Catalogue) -> dict:
    """One row of the list: the applicant's name as staff read it, the ID number and phone masked."""
    applicant = row["applicant"]
    return {**row, "applicant_name": applicant["name"], "id_number": mask_id(applicant["id_number"]),
            "phone": mask_phone(applicant["phone"]), "owed": owed(row, catalogue)}


def documents(row: dict, ref: Reference) -> dict:
    """What the printed documents of a case need beyond its row (受理回执, 一次性告知书, 不予受理告知书,
    容缺承诺书): the window and its public phone, the materials received in the item's order, the promised
    ones outstanding by name, the item's fee and what was collected."""
    item = ref.catalogue.item(row["item_code"])
    window = ref.org.organisation(row["organisation"])
    order = {m.code: i for i, m in enumerate(item.materials)} if item else {}
    received = sorted(row["provided"].items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
    collected = row["fee_collected_fen"]
    return {"window": window.name if window else "", "window_phone": ref.org.public_phone(row["organisation"]),
            "materials": received,
            "owed": owed(row, ref.catalogue),
            "promised": [(c, n) for c, n, why in owed(row, ref.catalogue) if why == "commitment"],
            "fee_yuan": fee_text(item.fee.amount_yuan) if item else "0", "fee_basis": item.fee.basis if item else "",
            "fee_collected_yuan": yuan(collected) if collected else ""}
