"""The warning board (预警看板) of the supervision office: warnings with what it groups them by (the
warned department, the case's item, the level and the centre of the organisation that accepted or
decides), filtered, and their yellow and red counts by one of these for a period, from one query.

A warning's organisation is a task's deciding window or office, a rectification item's rated
organisation, else the organisation that accepted the case; its level is that organisation's
(county, township, village) and its centre the centre answering for it (a village room's township
centre). The org chart says both when read, so an organisation moved takes its warnings along."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hall.catalogue import OrgChart
from hall.domain import Level, OrgKind
from services.errors import InvalidRequest
from services.uow import UnitOfWork

from . import store
from .feedback import Feedback

LEVELS = tuple(level.value for level in Level)
# what the board groups by, and the column of a warning that says it (level and centre: of its organisation)
GROUPS = {"": "", "department": "warned", "item": "item_code", "window": "organisation", "level": "organisation",
          "centre": "organisation"}


@dataclass(frozen=True)
class WarningFilter:
    since: dt.date | None = None  # raised on or after; None: any day
    until: dt.date | None = None
    department: str | None = None
    colour: str | None = None  # yellow, red; None: both
    item: str | None = None
    level: str | None = None
    centre: str | None = None
    open_only: bool = False  # neither withdrawn nor replied to
    instructed_unreplied: bool = False
    late_replies: bool = False  # replied after reply_by, or not replied and reply_by passed
    organisation: str | None = None  # one window's, office's or desk's (a person's own: My duties)


@dataclass
class Board:
    feedback: Feedback  # its centre answering for an organisation: the one way to say it

    @property
    def chart(self) -> OrgChart:
        return self.feedback.ref.org

    def centre_of(self, organisation: str | None) -> str:
        """The centre answering for an organisation (a village room's township centre); '' unknown."""
        return self.feedback.centre_answering_for(organisation or "") or ""

    def level_of(self, organisation: str | None) -> str:
        office = self.chart.organisation(organisation or "")
        return office.level.value if office else ""

    def organisations(self, f: WarningFilter) -> list[str] | None:
        """The organisations of the filter's level, centre and organisation; None when it names none."""
        if f.level is None and f.centre is None and f.organisation is None:
            return None
        return [o.code for o in self.chart.organisations
                if f.level in (None, o.level.value) and f.centre in (None, self.centre_of(o.code))
                and f.organisation in (None, o.code)]

    def check(self, f: WarningFilter) -> None:
        wrong = []
        if f.level is not None and f.level not in LEVELS:
            wrong.append(("level", "county, township or village"))
        centre = self.chart.organisation(f.centre) if f.centre is not None else None
        if f.centre is not None and (centre is None or centre.kind != OrgKind.CENTRE):
            wrong.append(("centre", f"no centre {f.centre!r}"))
        if f.organisation is not None and self.chart.organisation(f.organisation) is None:
            wrong.append(("organisation", f"no organisation {f.organisation!r}"))
        if wrong:
            raise InvalidRequest(wrong)

    def warnings(self, uow: UnitOfWork, f: WarningFilter, today: dt.date, after: int, limit: int) -> list[dict]:
        """Warnings of the filter after the id `after`, with their `level` and `centre`."""
        self.check(f)
        rows = store.warnings_in(uow, f, self.organisations(f), today, after, limit)
        return [{**w, "level": self.level_of(w["organisation"]), "centre": self.centre_of(w["organisation"])}
                for w in rows]

    def counts(self, uow: UnitOfWork, f: WarningFilter, today: dt.date, group_by: str) -> list[dict]:
        """Counts of the filter's warnings by `group_by` (a key of GROUPS), in the order of the keys; a
        warning with nothing to group it by is counted under ''."""
        self.check(f)
        rows = store.warning_counts(uow, f, self.organisations(f), today, GROUPS[group_by])
        fold = {"level": self.level_of, "centre": self.centre_of}.get(group_by)
        if fold is None:
            return rows
        folded: dict[str, dict] = {}
        for row in rows:
            key = fold(row["key"] or None)
            into = folded.setdefault(key, dict.fromkeys(row, 0) | {"key": key})
            for name, value in row.items():
                if name != "key":
                    into[name] += value
        return [folded[k] for k in sorted(folded)]
