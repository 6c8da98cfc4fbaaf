"""收费 in the figures: intake's FeeCollected recorded once a case, however often it comes, and counted
by the day it was collected, by item above all, on the real PostgreSQL with the events fed to
supervision's handlers (and once through the inbox, as the bus delivers them)."""
from __future__ import annotations

import functools

import pytest

from services.contracts import new_envelope
from services.inbox import Delivery, Inbox
from services.relay import Publisher
from supervision_svc.figures import figures
from supervision_svc.grpc_api import figures_view
from supervision_svc.service import HANDLERS
from tests.supervision.conftest import D

DESK, WINDOW = "county-desk", "county-window-civil-affairs"
SUN = {"person": "SX0017", "name": "孙桂英", "post": f"{WINDOW}/window_clerk/1", "organisation": WINDOW,
       "holder": WINDOW}
DESK_SYSTEM = {"person": "", "name": "", "post": "", "organisation": "", "holder": DESK}  # no person named


def accept(h, case: str, item: str, on: D, channel: str = "window") -> None:
    h.event("ApplicationAccepted", case, {
        "item_code": item, "kind": "promised", "level": "county", "organisation": DESK, "channel": channel,
        "first_clerk": "SX0008", "accepted_on": str(on), "promised_deadline": str(on)}, on)


def fee(item: str, amount_fen: int, on: D, organisation: str = WINDOW, by: dict | None = SUN) -> dict:
    return {"item_code": item, "organisation": organisation, "amount_fen": amount_fen,
            "receipt_number": f"SF{on:%Y%m%d}{amount_fen:06d}", "collected_on": str(on), "by": by}


def fees(h, group_by: str, since: D = D(2026, 3, 1), until: D = D(2026, 3, 31)) -> dict[str, tuple[int, int]]:
    """(fees_collected, fees_fen) of each group that has fees, as GetFigures shows them."""
    with h.uows[0]() as uow:
        shown = [figures_view(f) for f in figures(uow, h.feedback.ref, since, until, group_by)]
    return {f.key: (f.counts["fees_collected"], f.counts["fees_fen"]) for f in shown if f.counts["fees_collected"]}


@pytest.fixture
def inbox(supervision, amqp_url):
    dead_letters = Publisher.for_dead_letters(amqp_url)
    yield Inbox(supervision.uows[0], "supervision", dead_letters)
    dead_letters.close()


def test_fees_are_counted_once_a_case_by_the_day_collected_by_item_and_the_other_groups(supervision, inbox):
    h = supervision
    accept(h, "A", "MZ-001", D(2026, 3, 2))
    accept(h, "B", "AJ-001", D(2026, 3, 4), channel="online")
    accept(h, "C", "MZ-001", D(2026, 3, 20))
    # A: 50 yuan at the civil-affairs window by 孙桂英, delivered twice by the bus, then published
    # again for another amount (a case's fee is collected once: the first stands)
    (handler,) = [x for x in HANDLERS if x.event == "FeeCollected"]
    body = new_envelope("intake", "FeeCollected", "A", fee("MZ-001", 5000, D(2026, 3, 3)), h.time.now()).to_wire()
    handle = functools.partial(handler.handle, h.feedback.supervision)
    assert inbox.handle_all([Delivery(handler.id, body, handle)] * 2) == ["done", "duplicate"]
    h.event("FeeCollected", "A", fee("MZ-001", 9900, D(2026, 3, 4)), D(2026, 3, 4))
    # B: 120.50 yuan at the desk by its system (no person); C: collected in April
    h.event("FeeCollected", "B", fee("AJ-001", 12050, D(2026, 3, 5), DESK, DESK_SYSTEM), D(2026, 3, 5))
    h.event("FeeCollected", "C", fee("MZ-001", 2500, D(2026, 4, 1)), D(2026, 4, 1))
    # D: its acceptance not known to supervision yet: the fee counts all the same
    h.event("FeeCollected", "D", fee("MZ-006", 800, D(2026, 3, 6), by=None), D(2026, 3, 6))
    assert h.sql("SELECT case_number, amount_fen, collected_on, collected_by->>'person' FROM fees "
                 "ORDER BY case_number") == [("A", 5000, D(2026, 3, 3), "SX0017"), ("B", 12050, D(2026, 3, 5), ""),
                                             ("C", 2500, D(2026, 4, 1), "SX0017"), ("D", 800, D(2026, 3, 6), None)]

    assert fees(h, "item") == {"MZ-001": (1, 5000), "AJ-001": (1, 12050), "MZ-006": (1, 800)}
    assert fees(h, "") == {"": (3, 17850)}
    assert fees(h, "department") == {"civil_affairs": (2, 5800), "work_safety": (1, 12050)}
    assert fees(h, "window") == {WINDOW: (2, 5800), DESK: (1, 12050)}
    assert fees(h, "person") == {"SX0017": (1, 5000)}  # B by a system, D by no one: no person
    assert fees(h, "channel") == {"window": (1, 5000), "online": (1, 12050), "": (1, 800)}  # the case's
    assert fees(h, "level") == {"county": (2, 17050), "": (1, 800)}
    # April has C's only; a period without fees shows none
    assert fees(h, "item", D(2026, 4, 1), D(2026, 4, 30)) == {"MZ-001": (1, 2500)}
    assert fees(h, "", D(2026, 2, 1), D(2026, 2, 28)) == {}
