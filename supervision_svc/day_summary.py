"""当日汇总报值班领导签字 (seeds/004): each window's service acts of the day are summed up for its
centre, with the open red warnings, and the leader on duty signs the summary.

The ratings are counted as the hall's ball vote (投球: blue 满意, yellow 基本满意, red 不满意): levels
5 and 4 satisfied, 3 basically satisfied, 2 and 1 dissatisfied. A centre's acts are those of the
organisations it answers for (its desks, windows, back offices and village rooms; board.py):
cases accepted, of these the ones concluded that day, tasks decided, ratings of their acts.
Signing is a leader's of that centre, once a day, for a day that has begun; the figures as they
stood are kept with the signature."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hall.domain import OrgKind
from services.access import Caller, Role
from services.errors import Forbidden, InvalidRequest, NotAllowedNow
from services.timesource import local_day
from services.uow import UnitOfWork

from . import store
from .board import Board, WarningFilter

BALL = {5: "satisfied", 4: "satisfied", 3: "basically_satisfied", 2: "dissatisfied", 1: "dissatisfied"}
COUNTS = ("accepted", "concluded", "decided", "satisfied", "basically_satisfied", "dissatisfied")
RED_LISTED = 200  # open red warnings listed with the summary (all are counted)


@dataclass
class DaySummaries:
    board: Board

    def _check(self, day: dt.date, centre: str, today: dt.date) -> None:
        wrong = []
        if day > today:
            wrong.append(("day", "today or a day before"))
        office = self.board.chart.organisation(centre)
        if office is None or office.kind != OrgKind.CENTRE:
            wrong.append(("centre", f"no centre {centre!r}"))
        if wrong:
            raise InvalidRequest(wrong)

    def summary(self, uow: UnitOfWork, day: dt.date, centre: str) -> dict:
        """The day's figures of the centre, in total and by organisation (those with an act), the open
        red warnings raised by that day (counted, and the first RED_LISTED listed), and the signature."""
        self._check(day, centre, local_day(uow.time.now()))
        organisations = self.board.organisations(WarningFilter(centre=centre))
        by_org: dict[str, dict[str, int]] = {}
        for row in store.acts_of_day(uow, day, organisations):
            counts = by_org.setdefault(row["organisation"], dict.fromkeys(COUNTS, 0))
            act = BALL[int(row["act"][6:])] if row["act"].startswith("rated_") else row["act"]
            counts[act] += row["n"]
        reds = WarningFilter(until=day, colour="red", centre=centre, open_only=True)
        (counted,) = self.board.counts(uow, reds, day, "") or [{"red": 0}]
        return {"day": day, "centre": centre,
                "totals": {c: sum(o[c] for o in by_org.values()) for c in COUNTS},
                "organisations": dict(sorted(by_org.items())), "open_reds": counted["red"],
                "red_warnings": self.board.warnings(uow, reds, day, 0, RED_LISTED),
                "signature": store.day_signature(uow, day, centre)}

    def sign(self, uow: UnitOfWork, caller: Caller, day: dt.date, centre: str) -> dict:
        """The leader on duty signs the centre's day; a second signature is refused."""
        self._check(day, centre, local_day(uow.time.now()))
        if caller.role != Role.LEADER or caller.organisation != centre:
            raise Forbidden(f"{caller} signs the day of {caller.organisation} only")
        summary = self.summary(uow, day, centre)
        if summary["signature"] is not None:
            raise NotAllowedNow(f"the day {day} of {centre} was signed at {summary['signature']['signed_at']}")
        figures = {"totals": summary["totals"], "organisations": summary["organisations"],
                   "open_reds": summary["open_reds"]}
        if not store.sign_day(uow, day, centre, caller.actor(), figures):
            raise NotAllowedNow(f"the day {day} of {centre} was signed at the same time by another")
        return {**summary, "signature": store.day_signature(uow, day, centre)}
