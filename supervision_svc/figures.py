"""The efficiency figures (效能统计) supervision publishes for any period, overall or by department,
item, level, channel, window, person or centre. Counts come from supervision's tables; each ratio is one division here,
None where it has nothing to divide by.

- 项目录入率 entry_rate: investment-project applications answered whose 项目代码 was entered and
  valid (they were accepted), of all such applications answered (accepted or not accepted).
- 窗口授权率 window_authorisation_rate: catalogue items whose department decides them at its window
  in the county centre (not in a back office), of all items accepted at all (by department or item).
- 现场办结率 on_site_rate: cases concluded by windows stationed in a centre, of cases concluded.
- 按时办结率 on_time_rate: cases concluded within their limit (pauses and extensions counted).
- 测评满意率 satisfaction_rate (3 to 5) and 不满意率 dissatisfaction_rate (1 and 2), of the ratings
  given in the period that stand (an upheld appeal voids one).
- 投诉率 complaint_rate: complaints registered, per case accepted in the period.
- 即办件占比 immediate_share: 即办件 of the cases accepted.
- 法定时限压缩比 compression_ratio: 1 − promised / legal working days, over the cases accepted.
- days_used_ratio: working days used of the limit, over the cases concluded (also the average).
- 回访率 follow_up_rate: named bad ratings with a follow-up call, of named bad ratings.
- 咨询量 consulted: consultations answered without a case; 接待人次 received: every application
  answered at a window, village room or online (accepted, not accepted, one-time notice, consultation).
- rectified: bad ratings given in the period whose rectification item is closed (fixed, on the
  ledger, explained; a voided rating is no longer counted at all).
- 收费 fees_collected: cases whose fee was collected in the period (once a case, whatever the
  delivery), and fees_fen: their sum in fen (分). By item and department (the item's), by window (the
  organisation that collected it) and by person (who collected it, when named); by level and channel,
  those of the case's acceptance.
- Per agent: cases carried in the period, and those it accompanied an applicant to (带领), against the agent's
  quota; of them those concluded by the period's end (办结率), and the period's ratings of its cases and
  those satisfied (测评满意率) (a weekly quota counts the
  whole weeks of the period, a monthly one the months it touches).

By window and by person the acts are counted, for the organisation and the staff number that did
them: an acceptance for the accepting desk, window or room and its first clerk (首问负责人); a
decision for the deciding window or back office and the handler who decided (one per task, a
co-handler's opinion is no decision), concluded on site when that organisation is a window
stationed in a centre, on time when within the task's own limit (pauses and extensions counted); a
rating for the window and person of the act it rates (see feedback: a whole case's online rating
counts for the acceptance). Consultations and answers without a case count for their window, not
for a person; complaints, project entries and window authorisation are not counted by either.

By centre, the figures by window are added up by the centre answering for each organisation
(feedback.centre_answering_for, as the warning board groups by centre): an acceptance counts for
the centre of the accepting desk, window or village room, a decision for the centre of the deciding
window or back office, a rating for the centre of the organisation whose act it rates, a fee and a
consultation for the centre of their organisation; a village room's centre is its township's. What
names no organisation the org chart knows is counted under ''. As by window, complaints, project
entries and window authorisation are not counted by centre.

The conditions of the case-based counts are said once below (ACCEPTED … COMPLAINED): the figures
count with them and figure_cases lists the cases behind a number with them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from hall.domain import Level, OrgKind
from hall.reference import Reference
from services.uow import UnitOfWork

from .feedback import centre_answering_for

GROUPS = {"": None, "department": "department", "item": "item_code", "level": "level", "channel": "channel",
          "window": "organisation", "person": "first_clerk"}
# Grouped by the act: the decision's and the rating's columns (of clocks and of ratings)
BY_ACT = {"window": ("organisation", "by_organisation"), "person": ("decided_by", "by_person")}
# By centre: the figures by window, added up by centre
FOLDED = {"centre": "window"}
GROUPINGS = (*GROUPS, *FOLDED)

# What each count counts, over cases c, decisions (clocks k), ratings g and complaints p, in the
# period %(since)s..%(until)s; %(windows)s: the organisations that are windows.
_PERIOD = "BETWEEN %(since)s AND %(until)s"
ACCEPTED = f"c.accepted_on {_PERIOD}"
IMMEDIATE = "c.kind = 'immediate'"
CONCLUDED = f"c.concluded_on {_PERIOD} AND c.result <> 'withdrawn'"
ON_SITE = "c.on_site"
ON_TIME = "c.on_time"
DECIDED = f"k.decided_on {_PERIOD} AND k.step = 'task'"
DECIDED_ON_SITE = "k.organisation = ANY(%(windows)s)"
DECIDED_ON_TIME = "k.on_time"
RATED = f"g.rated_on {_PERIOD} AND g.voided_on IS NULL"
SATISFIED = "g.level >= 3"
DISSATISFIED = "g.level <= 2"
COMPLAINED = f"p.registered_on {_PERIOD}"
# The fee's own columns (of fees f); by level and channel, the case's
BY_FEE = {"department": "f.department", "item": "f.item_code", "window": "f.organisation",
          "person": "f.collected_by->>'person'"}


@dataclass
class Counts:
    key: str = ""
    accepted: int = 0
    immediate: int = 0
    promised_days: int = 0
    legal_days: int = 0
    concluded: int = 0
    concluded_on_site: int = 0
    concluded_on_time: int = 0
    days_used: int = 0
    limit_days: int = 0
    project_answered: int = 0
    project_entered: int = 0
    ratings: int = 0
    satisfied: int = 0
    dissatisfied: int = 0
    rectified: int = 0  # bad ratings whose rectification item is closed
    bad_named: int = 0
    followed_up: int = 0
    complaints: int = 0
    items: int = 0
    window_items: int = 0
    consulted: int = 0  # 咨询量: consultations answered, no case
    answered: int = 0  # applications answered without acceptance: not accepted, or a one-time notice
    received: int = 0  # 接待人次: every application answered, whatever the answer
    fees_collected: int = 0  # 收费: cases whose fee was collected
    fees_fen: int = 0  # their sum, in fen (分)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Figures:
    counts: Counts

    @property
    def ratios(self) -> dict[str, float | None]:
        c = self.counts
        return {
            "entry_rate": _share(c.project_entered, c.project_answered),
            "window_authorisation_rate": _share(c.window_items, c.items),
            "on_site_rate": _share(c.concluded_on_site, c.concluded),
            "on_time_rate": _share(c.concluded_on_time, c.concluded),
            "satisfaction_rate": _share(c.satisfied, c.ratings),
            "dissatisfaction_rate": _share(c.dissatisfied, c.ratings),
            "complaint_rate": _share(c.complaints, c.accepted),
            "immediate_share": _share(c.immediate, c.accepted),
            "compression_ratio": 1 - c.promised_days / c.legal_days if c.legal_days else None,
            "days_used_ratio": _share(c.days_used, c.limit_days),
            "average_days_used": _share(c.days_used, c.concluded),
            "follow_up_rate": _share(c.followed_up, c.bad_named),
        }


@dataclass(frozen=True)
class AgentFigures:
    agent: str
    name: str
    organisation: str
    cases: int
    quota: int
    concluded: int = 0  # of `cases`, concluded by the period's end (办结率 = concluded / cases)
    ratings: int = 0  # the period's ratings of the agent's cases
    satisfied: int = 0  # of those, 3 to 5 (测评满意率)

    @property
    def met(self) -> bool:
        return self.cases >= self.quota


def quota_for(cases: int, per: str, since: dt.date, until: dt.date) -> int:
    days = (until - since).days + 1
    if per == "week":
        return cases * (days // 7)
    months = (until.year - since.year) * 12 + until.month - since.month + 1
    return cases * months


def _rows(uow: UnitOfWork, query: str, params: dict) -> list[tuple]:
    return uow.execute(query, params).fetchall()


def windows_of(ref: Reference) -> list[str]:
    """The organisations that are windows stationed in a centre: a decision there is on site."""
    return [o.code for o in ref.org.organisations if o.kind == OrgKind.WINDOW]


def figures(uow: UnitOfWork, ref: Reference, since: dt.date, until: dt.date, group_by: str = "") -> list[Figures]:
    """The figures of the period `since`..`until` (both included), one per group, sorted by key."""
    if group_by in FOLDED:
        return _folded(figures(uow, ref, since, until, FOLDED[group_by]),
                       lambda organisation: centre_answering_for(ref.org, organisation) or "")
    column = GROUPS[group_by]
    key = f"coalesce(c.{column}, '')" if column else "''"
    p = {"since": since, "until": until}
    groups: dict[str, Counts] = {}

    def add(k: str, **values) -> None:
        counts = groups.setdefault(k, Counts(key=k))
        for name, value in values.items():
            setattr(counts, name, getattr(counts, name) + (value or 0))

    for k, n, imm, promised, legal in _rows(uow, (
            f"SELECT {key}, count(*), count(*) FILTER (WHERE {IMMEDIATE}), sum(promised_limit_days), "
            f"sum(legal_limit_days) FROM cases c WHERE {ACCEPTED} GROUP BY 1"), p):
        add(k, accepted=n, immediate=imm, promised_days=promised, legal_days=legal)
    if group_by in BY_ACT:
        decider, rated = BY_ACT[group_by]
        _decisions(uow, ref, p, decider, add)
        rating_key = f"g.{rated}"
    else:
        for k, n, site, on_time, used, limit in _rows(uow, (
                f"SELECT {key}, count(*), count(*) FILTER (WHERE {ON_SITE}), count(*) FILTER (WHERE {ON_TIME}), "
                f"sum(days_used), sum(limit_days) FROM cases c WHERE {CONCLUDED} GROUP BY 1"), p):
            add(k, concluded=n, concluded_on_site=site, concluded_on_time=on_time, days_used=used, limit_days=limit)
        rating_key = key
    for k, n, sat, dis, done, named, called in _rows(uow, (
            f"SELECT {rating_key}, count(*), count(*) FILTER (WHERE {SATISFIED}), "
            f"count(*) FILTER (WHERE {DISSATISFIED}), "
            f"count(*) FILTER (WHERE {DISSATISFIED} AND r.resolved_on IS NOT NULL), "
            f"count(*) FILTER (WHERE {DISSATISFIED} AND g.named), "
            f"count(*) FILTER (WHERE {DISSATISFIED} AND g.named AND r.followed_up_on IS NOT NULL) "
            f"FROM ratings g JOIN cases c USING (case_number) LEFT JOIN rectifications r ON r.rating_id = g.id "
            f"WHERE {RATED} GROUP BY 1"), p):
        add(k, ratings=n, satisfied=sat, dissatisfied=dis, rectified=done, bad_named=named, followed_up=called)
    if group_by not in BY_ACT:  # a complaint names no act
        complaint_key = "p.department" if column == "department" else key
        for (k, n) in _rows(uow, (
                f"SELECT {complaint_key}, count(*) FROM complaints p LEFT JOIN cases c USING (case_number) "
                f"WHERE {COMPLAINED} GROUP BY 1"), p):
            add(k, complaints=n)
    fee_key = f"coalesce({BY_FEE[group_by]}, '')" if group_by in BY_FEE else key
    for k, n, fen in _rows(uow, (
            f"SELECT {fee_key}, count(*), sum(f.amount_fen)::bigint FROM fees f LEFT JOIN cases c USING (case_number) "
            f"WHERE f.collected_on BETWEEN %(since)s AND %(until)s GROUP BY 1"), p):
        if k or group_by != "person":  # a fee collected by a system names no person
            add(k, fees_collected=n, fees_fen=fen)
    for item, org, channel in _rows(uow, "SELECT item_code, organisation, channel FROM consultations "
                                         "WHERE answered_on BETWEEN %(since)s AND %(until)s", p):
        k = _group_key(ref, group_by, item, org, channel)
        if k is not None:
            add(k, consulted=1)
    for item, org in _rows(uow, "SELECT item_code, organisation FROM answers "
                                "WHERE answered_on BETWEEN %(since)s AND %(until)s", p):
        k = _group_key(ref, group_by, item, org, None)
        if k is not None:
            add(k, answered=1)
    if group_by not in BY_ACT:
        _project_entries(uow, ref, p, group_by, add)
    if group_by in ("", "department", "item"):
        _window_items(ref, group_by, add)
    for counts in groups.values():
        counts.received = counts.accepted + counts.answered + counts.consulted
    return [Figures(groups[k]) for k in sorted(groups)]


def _decisions(uow: UnitOfWork, ref: Reference, p: dict, column: str, add) -> None:
    """Tasks decided in the period, by the deciding organisation or person (`column` of clocks)."""
    for k, n, site, on_time in _rows(uow, (
            f"SELECT coalesce(k.{column}, ''), count(*), count(*) FILTER (WHERE {DECIDED_ON_SITE}), "
            f"count(*) FILTER (WHERE {DECIDED_ON_TIME}) FROM clocks k WHERE {DECIDED} GROUP BY 1"),
            {**p, "windows": windows_of(ref)}):
        add(k, concluded=n, concluded_on_site=site, concluded_on_time=on_time)


def _folded(groups: list[Figures], fold) -> list[Figures]:
    """The figures of `groups` added up by `fold(key)`, sorted by the new key."""
    folded: dict[str, Counts] = {}
    for f in groups:
        into = folded.setdefault(fold(f.counts.key), Counts(key=fold(f.counts.key)))
        for name in COUNT_FIELDS:
            setattr(into, name, getattr(into, name) + getattr(f.counts, name))
    return [Figures(folded[k]) for k in sorted(folded)]


def _group_key(ref: Reference, group_by: str, item_code: str, organisation: str, channel: str | None) -> str | None:
    if group_by == "":
        return ""
    if group_by == "department":
        return ref.catalogue.item(item_code).department
    if group_by == "item":
        return item_code
    if group_by == "level":
        return ref.org.organisation(organisation).level.value
    if group_by == "window":
        return organisation
    if group_by == "person":
        return None  # consultations and answers name no clerk here
    return channel  # not accepted answers carry no channel: they are not grouped by it


def _project_entries(uow: UnitOfWork, ref: Reference, p: dict, group_by: str, add) -> None:
    projects = [i.code for i in ref.catalogue.items if i.requires_project_code]
    p = {**p, "items": projects}
    for item, org, channel, entered in _rows(uow, (
            "SELECT item_code, organisation, channel, project_code IS NOT NULL FROM cases "
            "WHERE accepted_on BETWEEN %(since)s AND %(until)s AND item_code = ANY(%(items)s) "
            "UNION ALL SELECT item_code, organisation, NULL, false FROM answers "
            "WHERE outcome = 'not_accepted' AND answered_on BETWEEN %(since)s AND %(until)s "
            "AND item_code = ANY(%(items)s)"), p):
        k = _group_key(ref, group_by, item, org, channel)
        if k is not None:
            add(k, project_answered=1, project_entered=int(entered))


def _window_items(ref: Reference, group_by: str, add) -> None:
    county = next(o for o in ref.org.organisations if o.kind == OrgKind.CENTRE and o.level == Level.COUNTY)
    for item in ref.catalogue.items:
        if item.consult_only or item.decided_at == Level.VILLAGE:  # a village committee's: no window decides it
            continue
        office = ref.org.office_for(item.department, county.code)
        k = "" if group_by == "" else item.department if group_by == "department" else item.code
        add(k, items=1, window_items=int(office.kind == OrgKind.WINDOW))


def agent_figures(uow: UnitOfWork, ref: Reference, since: dt.date, until: dt.date) -> list[AgentFigures]:
    p = {"since": since, "until": until}
    carried = {who: (n, done) for who, n, done in _rows(uow, (
        f"SELECT who, count(*), count(*) FILTER (WHERE concluded_on <= %(until)s AND result <> 'withdrawn') "
        f"FROM {_AGENTS_CASES} WHERE accepted_on BETWEEN %(since)s AND %(until)s GROUP BY who"), p)}
    rated = {who: (n, sat) for who, n, sat in _rows(uow, (
        f"SELECT a.who, count(*), count(*) FILTER (WHERE {SATISFIED}) FROM ratings g "
        f"JOIN {_AGENTS_CASES} USING (case_number) WHERE {RATED} GROUP BY a.who"), p)}
    return [AgentFigures(a.code, a.name, a.organisation, carried.get(a.code, (0, 0))[0],
                         quota_for(a.quota.cases, a.quota.per, since, until), carried.get(a.code, (0, 0))[1],
                         *rated.get(a.code, (0, 0))) for a in ref.org.agents]


# Each case of an agent: those it carried (accepted for the applicant, or took over from a village agent as the
# township's agent) and those it accompanied an applicant to (带领), as (who, case).
_AGENTS_CASES = "(" + " UNION ALL ".join(
    f"SELECT {who} AS who, case_number, accepted_on, concluded_on, result FROM cases WHERE {who} IS NOT NULL"
    for who in ("agent", "carrier", "accompanied_by")) + ") AS a"


COUNT_FIELDS = [f.name for f in fields(Counts) if f.name != "key"]
