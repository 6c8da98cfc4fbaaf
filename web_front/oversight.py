"""What the pages of those who watch the hall share (the supervision office, leaders, a
department's duties): the period a page reads, the names of departments and windows, and bar
charts drawn on the server as SVG (no script, printable, readable by a screen reader from the
table beside each chart)."""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from html import escape

from onewindow.supervision.v1 import supervision_pb2 as spb

from hall.catalogue import OrgChart

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
LONGEST_PERIOD = 366  # days a period may span
BAD_DAYS = "起止日期的格式为 2026-03-01，截止日期不早于开始日期，跨度不超过一年"


@dataclass(frozen=True)
class Period:
    """What a page reads: a month, or the days `start`..`end` (both included); `error` when the
    query asked for something that is not a period (the page says so and shows the month)."""
    start: dt.date
    end: dt.date
    month: str = ""
    error: str = ""

    @property
    def message(self) -> spb.Period:
        if self.month:
            return spb.Period(month=self.month)
        return spb.Period(**{"from": self.start.isoformat(), "to": self.end.isoformat()})

    @property
    def query(self) -> dict:
        if self.month:
            return {"month": self.month}
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}

    @property
    def label(self) -> str:
        if self.month:
            return self.month
        if self.start == self.end:
            return self.start.isoformat()
        return f"{self.start.isoformat()} — {self.end.isoformat()}"


def month_period(month: str) -> Period:
    year, number = int(month[:4]), int(month[5:])
    return Period(dt.date(year, number, 1), dt.date(year, number, calendar.monthrange(year, number)[1]), month)


def period_of(query, today: dt.date) -> Period:
    """The period asked for in a page's address: `from=…&to=…` (one of them: that day), else
    `month=YYYY-MM`, or `day=today`; this month when nothing (or something wrong, with `error`
    set) is asked."""
    this_month = month_period(today.strftime("%Y-%m"))
    month, start, end = (query.get(k, "")[:10].strip() for k in ("month", "from", "to"))
    if query.get("day") == "today":
        return Period(today, today)
    if start or end:  # the days asked for win over a month left in its field
        try:
            first = dt.date.fromisoformat(start or end) if DAY.fullmatch(start or end) else None
            last = dt.date.fromisoformat(end or start) if DAY.fullmatch(end or start) else None
        except ValueError:
            first = last = None
        if first is None or last is None or last < first or (last - first).days >= LONGEST_PERIOD:
            return Period(**{**this_month.__dict__, "error": BAD_DAYS})
        return Period(first, last)
    if month:
        return month_period(month) if MONTH.fullmatch(month) else Period(**{**this_month.__dict__,
                                                                            "error": "月份的格式为 2026-03"})
    return this_month


def month_of(text: str, today: dt.date) -> str:
    """A month asked for (YYYY-MM), else the month before `today` (the one a 通报 is about)."""
    if MONTH.fullmatch(text or ""):
        return text
    last = today.replace(day=1) - dt.timedelta(days=1)
    return last.strftime("%Y-%m")


def name_of(org: OrgChart, key: str) -> str:
    """A department's, an organisation's, an agent's or a level's name for a figure's key; the key itself else."""
    from .labels import LEVEL

    department = org.department(key)
    if department is not None:
        return department.name
    organisation = org.organisation(key)
    if organisation is not None:
        return organisation.name
    agent = org.agent(key)
    if agent is not None:
        return agent.name
    return LEVEL.get(key, key)


async def every_row(person, method, request, field: str, most: int) -> list:
    """The rows of a paged list call (the reply's `field`), page after page, at most `most`."""
    rows, token = [], ""
    while len(rows) < most:
        request.page_token = token
        reply = await person.call(method, request)
        rows += getattr(reply, field)
        token = reply.next_page_token
        if not token:
            break
    return rows[:most]


def percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def bar_chart(title: str, rows: list[tuple[str, float]], unit: str = "", width: int = 560) -> str:
    """A horizontal bar chart as inline SVG: one bar per (label, value), the value written at the end
    of the bar. `title` names the chart for assistive technology (the table next to it has the
    numbers)."""
    bar, gap, label_width = 22, 8, 170
    height = max(len(rows), 1) * (bar + gap) + gap
    top = max((v for _, v in rows), default=0) or 1
    room = width - label_width - 80
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'width="100%" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(rows):
        y = gap + i * (bar + gap)
        length = max(int(room * value / top), 1 if value else 0)
        shown = f"{value:.1f}{unit}" if isinstance(value, float) and unit == "%" else f"{value:g}{unit}"
        baseline = f"{y + bar * 0.7:.0f}"
        parts.append(f'<text x="{label_width - 6}" y="{baseline}" text-anchor="end">{escape(label[:14])}</text>'
                     f'<rect x="{label_width}" y="{y}" width="{length}" height="{bar}"/>'
                     f'<text x="{label_width + length + 6}" y="{baseline}">{escape(shown)}</text>')
    parts.append("</svg>")
    return "".join(parts)
