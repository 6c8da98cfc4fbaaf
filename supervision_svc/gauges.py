"""The business figures on `/metrics` of the supervision API process, read from the store at each
scrape. Labels are bounded sets (level, state, colour, step, kind, department, window, figure): never
cases, people or items. A window is an organisation of the org chart (the one that accepted or
decided); figures by person are the API's (GetFigures by PERSON), never a label here.
Ratios with nothing to divide by are left out rather than reported as 0.
"""
from __future__ import annotations

import datetime as dt
import logging

import kombu
from prometheus_client.core import GaugeMetricFamily

from hall.reference import Reference
from services.relay import DEAD_LETTER_QUEUE, RECOVERABLE
from services.timesource import local_day

from .figures import figures

log = logging.getLogger(__name__)


def _gauge(name: str, doc: str, labels: list[str], rows) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for *values, count in rows:
        family.add_metric([str(v) for v in values], count)
    return family


class BusinessCollector:
    def __init__(self, unit_of_work, ref: Reference, amqp_url: str):
        self.unit_of_work = unit_of_work
        self.ref = ref
        self.amqp_url = amqp_url

    def describe(self):
        return []  # collected at scrape time only: registration must not query the store

    def collect(self):
        try:
            yield from self._from_store()
        except RECOVERABLE as exc:
            log.warning("business figures unavailable: %r", exc)
        depth = self._dead_letters()
        if depth is not None:
            yield GaugeMetricFamily("onewindow_dead_letters", "Messages waiting in the dead-letter queue", value=depth)

    def _from_store(self):
        with self.unit_of_work() as uow:
            today = local_day(uow.time.now())
            q = lambda sql: uow.execute(sql, {"today": today}).fetchall()  # noqa: E731
            yield _gauge("onewindow_cases_open", "Cases accepted and not concluded, by accepting level and clock state",
                         ["level", "state"], q(
                             "SELECT c.level, CASE WHEN k.paused_by = '[]' THEN 'running' ELSE 'paused' END, count(*) "
                             "FROM cases c JOIN clocks k ON k.case_number = c.case_number AND k.step = 'case' "
                             "WHERE c.concluded_on IS NULL GROUP BY 1, 2"))
            yield _gauge("onewindow_cases_overdue", "Open cases past their deadline today", ["level"], q(
                "SELECT c.level, count(*) FROM cases c JOIN clocks k ON k.case_number = c.case_number "
                "AND k.step = 'case' WHERE c.concluded_on IS NULL AND k.deadline < %(today)s GROUP BY 1"))
            yield _gauge("onewindow_warnings_open", "Warnings standing on steps still running, by colour and step",
                         ["colour", "step"], q(
                             "SELECT w.colour, w.step, count(*) FROM warnings w JOIN clocks k ON k.id = w.clock_id "
                             "WHERE k.stopped_on IS NULL AND w.withdrawn_on IS NULL GROUP BY 1, 2"))
            yield _gauge("onewindow_faults_month", "Non-time faults found this month, by kind", ["kind"], q(
                "SELECT kind, count(*) FROM faults WHERE date_trunc('month', found_on) = "
                "date_trunc('month', %(today)s::date) GROUP BY 1"))
            yield _gauge("onewindow_rectifications_open", "Bad ratings' rectification items not closed", ["state"], q(
                "SELECT CASE WHEN k.deadline < %(today)s THEN 'overdue' ELSE 'in_time' END, count(*) "
                "FROM rectifications r JOIN clocks k ON k.step = 'rectification' AND k.ref = r.rating_id::text "
                "WHERE r.resolved_on IS NULL GROUP BY 1"))
            (overdue,) = q("SELECT count(*) FROM complaints p JOIN clocks k ON k.step = 'complaint' "
                           "AND k.ref = p.id::text WHERE p.answered_on IS NULL AND k.deadline < %(today)s")
            yield GaugeMetricFamily("onewindow_complaints_overdue", "Complaints not answered within their limit",
                                    value=overdue[0])
            yield from self._month(uow, today)

    def _month(self, uow, today: dt.date):
        since = today.replace(day=1)
        groups = figures(uow, self.ref, since, today)
        if not groups:
            return
        month = groups[0]
        ratios = month.ratios
        for name, ratio, doc in (
                ("onewindow_on_time_ratio", "on_time_rate", "This month: cases concluded on time, of those concluded"),
                ("onewindow_on_site_ratio", "on_site_rate", "This month: cases concluded on site, of those concluded"),
                ("onewindow_satisfaction_ratio", "satisfaction_rate", "This month: ratings of 3 to 5, of all ratings"),
                ("onewindow_days_used_ratio", "days_used_ratio",
                 "This month: working days used of the limit, over the cases concluded")):
            if ratios[ratio] is not None:
                yield GaugeMetricFamily(name, doc, value=ratios[ratio])
        yield GaugeMetricFamily("onewindow_cases_concluded_month", "Cases concluded this month",
                                value=month.counts.concluded)
        yield GaugeMetricFamily("onewindow_cases_accepted_month", "Cases accepted this month",
                                value=month.counts.accepted)
        by_department = GaugeMetricFamily("onewindow_department_month", "This month's figures by deciding department",
                                          labels=["figure", "department"])
        by_level = GaugeMetricFamily("onewindow_level_month", "This month's figures by accepting level",
                                     labels=["figure", "level"])
        by_window = GaugeMetricFamily("onewindow_window_month", "This month's figures by the window, desk, room or "
                                      "office that accepted or decided", labels=["figure", "window"])
        for family, group_by in ((by_department, "department"), (by_level, "level"), (by_window, "window")):
            for group in figures(uow, self.ref, since, today, group_by):
                if not group.counts.key:  # nothing to name the group by
                    continue
                if group_by == "window" and self.ref.org.organisation(group.counts.key) is None:
                    continue  # gone from the org chart: the labels stay the chart's
                for figure, value in _figures_of(group):
                    family.add_metric([figure, group.counts.key], value)
            yield family

    def _dead_letters(self) -> int | None:
        try:
            with kombu.Connection(self.amqp_url, connect_timeout=2) as conn:
                _, count, _ = conn.default_channel.queue_declare(DEAD_LETTER_QUEUE, passive=True)
                return count
        except Exception as exc:  # noqa: BLE001 - no figure rather than a failed scrape
            log.warning("dead-letter queue depth unavailable: %r", exc)
            return None


def _figures_of(group) -> list[tuple[str, float]]:
    """The `figure` label values of the grouped families: the month's ratios and counts."""
    ratios = group.ratios
    named = [("on_time_ratio", ratios["on_time_rate"]), ("on_site_ratio", ratios["on_site_rate"]),
             ("satisfaction_ratio", ratios["satisfaction_rate"]), ("days_used_ratio", ratios["days_used_ratio"]),
             ("accepted", group.counts.accepted), ("concluded", group.counts.concluded)]
    if group.counts.ratings:  # the ratings' figures where there are ratings (by window: rectification's too)
        named += [("ratings", group.counts.ratings), ("dissatisfied", group.counts.dissatisfied),
                  ("rectified", group.counts.rectified)]
    if group.counts.fees_collected:  # 收费 by department, level and window; by item never (a label per item)
        named += [("fees_collected", group.counts.fees_collected), ("fees_fen", group.counts.fees_fen)]
    return [(figure, value) for figure, value in named if value is not None]
