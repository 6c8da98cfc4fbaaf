"""The monthly assessment (月度考核) of each window by its month's figures, and the red-flag windows
(红旗窗口) the county names among them. Pure: the figures by window come in (figures.py), the
county's rule comes from the settings.

A window's basis is what it did in the month (figures.py counts acts by the organisation that did
them): acceptances, decisions, decisions on time and on site, ratings, bad ratings and those
rectified. It qualifies for the red flag when it serves the public face to face (a window, an
acceptance desk or a village room; a back office or a centre does not), did at least the rule's
number of acts (acceptances and decisions), kept the rule's on-time rate over the decisions it
made (a desk or a room decides none, and has none late) and its satisfaction rate (a window without
ratings has not shown it: a flag is earned by evidence), and left no more bad ratings unrectified
than the rule allows. The qualified windows are ranked by satisfaction, then on-time rate, then
acts, then code (so that a tie is always broken the same way), and the first `red_flags` of them
are the month's red-flag windows.
"""
from __future__ import annotations

from dataclasses import dataclass

from hall.catalogue import OrgChart
from hall.domain import OrgKind

from .figures import Figures

FRONT_LINE = (OrgKind.WINDOW, OrgKind.ACCEPTANCE_DESK, OrgKind.VILLAGE_ROOM)


@dataclass(frozen=True)
class AssessmentRule:
    """The county's rule (settings: `assessment_*`, `red_flag_windows`)."""
    min_acts: int = 20  # acceptances and decisions in the month
    min_on_time_rate: float = 1.0  # 按时办结率
    min_satisfaction_rate: float = 0.95  # 测评满意率
    max_unrectified: int = 0  # bad ratings of the month left without rectification
    red_flags: int = 3  # red-flag windows a month, at most


@dataclass(frozen=True)
class WindowAssessment:
    window: str
    figures: Figures
    shortfalls: tuple[str, ...]  # what keeps it from the red flag; empty: it qualifies
    red_flag: bool = False
    rank: int = 0  # among the qualified windows, from 1; 0 when not qualified

    @property
    def acts(self) -> int:
        return self.figures.counts.accepted + self.figures.counts.concluded

    @property
    def unrectified(self) -> int:
        return self.figures.counts.dissatisfied - self.figures.counts.rectified


def shortfalls(window: str, f: Figures, org: OrgChart, rule: AssessmentRule) -> tuple[str, ...]:
    c, ratios = f.counts, f.ratios
    office = org.organisation(window)
    found = []
    if office is None or office.kind not in FRONT_LINE:
        found.append("not a window serving the public")
    if c.accepted + c.concluded < rule.min_acts:
        found.append(f"{c.accepted + c.concluded} acts, fewer than {rule.min_acts}")
    on_time, satisfied = ratios["on_time_rate"], ratios["satisfaction_rate"]
    if on_time is not None and on_time < rule.min_on_time_rate:
        found.append(f"on time {on_time:.1%}, below {rule.min_on_time_rate:.1%}")
    if satisfied is None:
        found.append("no ratings")
    elif satisfied < rule.min_satisfaction_rate:
        found.append(f"satisfied {satisfied:.1%}, below {rule.min_satisfaction_rate:.1%}")
    if c.dissatisfied - c.rectified > rule.max_unrectified:
        found.append(f"{c.dissatisfied - c.rectified} bad rating(s) not rectified")
    return tuple(found)


def assess(by_window: list[Figures], org: OrgChart, rule: AssessmentRule) -> list[WindowAssessment]:
    """Each window's assessment, in the order of their codes; the first `rule.red_flags` qualified
    windows by rank carry the red flag."""
    assessed = [WindowAssessment(f.counts.key, f, shortfalls(f.counts.key, f, org, rule))
                for f in by_window if f.counts.key]
    def standing(a: WindowAssessment) -> tuple:
        on_time = a.figures.ratios["on_time_rate"]
        return -a.figures.ratios["satisfaction_rate"], -(1.0 if on_time is None else on_time), -a.acts, a.window

    ranks = {a.window: n for n, a in enumerate(sorted((a for a in assessed if not a.shortfalls), key=standing), 1)}
    return [WindowAssessment(a.window, a.figures, a.shortfalls, 0 < ranks.get(a.window, 0) <= rule.red_flags,
                             ranks.get(a.window, 0)) for a in assessed]
