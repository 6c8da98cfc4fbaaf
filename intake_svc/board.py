"""The hall board (大屏): today's counts of each accepting organisation (one query, `store.board_counts`)
added up by centre with the org chart. Counts only: no case, no person. Pure: no storage, no transport."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from hall.catalogue import Organisation, OrgChart
from hall.domain import OrgKind
from services.errors import InvalidRequest


@dataclass(frozen=True)
class Counts:
    accepted_today: int = 0  # accepted (or with a 容缺 commitment) today
    in_handling: int = 0  # accepted, not yet concluded or withdrawn
    concluded_today: int = 0  # 办结 today
    overdue: int = 0  # in handling, past the promised date

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


@dataclass(frozen=True)
class BoardRow:
    code: str
    name: str
    centre: str  # the centre it belongs to (itself for a centre)
    counts: Counts


@dataclass(frozen=True)
class Board:
    day: dt.date
    as_of: dt.datetime
    total: Counts
    centres: tuple[BoardRow, ...]  # each centre with everything under it, in the org chart's order
    windows: tuple[BoardRow, ...]  # each accepting organisation with any count, by centre then code


def _centres_over(org: OrgChart, code: str) -> list[str]:
    """The centres (of kind centre: a village room is not one) an organisation counts in, nearest first."""
    return [c for c in org.centres_over(code) if org.organisation(c).kind == OrgKind.CENTRE]


def board_scope(org: OrgChart, centre: str) -> list[Organisation]:
    """The centres a board shows, in the org chart's order: every one, or `centre` and those under it."""
    if centre:
        found = org.organisation(centre)
        if found is None or found.kind != OrgKind.CENTRE:
            raise InvalidRequest([("centre", f"no centre {centre!r}")])
    return [o for o in org.organisations
            if o.kind == OrgKind.CENTRE and (not centre or centre in _centres_over(org, o.code))]


def board(org: OrgChart, scope: list[Organisation], counts: dict[str, Counts], day: dt.date, as_of: dt.datetime,
          centre: str = "") -> Board:
    """The board of `scope` (board_scope) from the counts of each organisation (by its code)."""
    position = {c.code: i for i, c in enumerate(scope)}
    by_centre = {c.code: Counts() for c in scope}
    windows = []
    for code, numbers in counts.items():
        over = [c for c in _centres_over(org, code) if c in by_centre]
        for c in over:
            by_centre[c] += numbers
        if over and numbers:  # an organisation gone from the org chart, or outside the scope, has no row
            windows.append(BoardRow(code, org.organisation(code).name, over[0], numbers))
    windows.sort(key=lambda row: (position[row.centre], row.code))
    total = by_centre[centre] if centre else sum(counts.values(), Counts())
    return Board(day, as_of, total, tuple(BoardRow(c.code, c.name, c.code, by_centre[c.code]) for c in scope),
                 tuple(windows))
