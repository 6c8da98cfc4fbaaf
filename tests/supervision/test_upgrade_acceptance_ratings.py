"""Upgrading a running hall over migration 0004: a bad rating of an acceptance desk filed before it
(department NULL, the accepting organisation stored) loses nothing and is its centre's to close; over
0007, it counts for the desk and the clerk of the acceptance it rated."""
from __future__ import annotations

import datetime as dt
import shutil

import pytest

from hall.holders import holder_role
from hall.reference import load_reference
from services.db import migrate, open_pool, service_migrations
from services.errors import Forbidden
from services.timesource import CHINA, ManualTime
from services.uow import unit_of_work_factory
from supervision_svc.feedback import Feedback
from supervision_svc.use_cases import Supervision
from tooling.settings import SystemSettings

D = dt.date


def test_an_acceptance_item_filed_before_0004_is_its_centres_after_the_upgrade(database_url, schema, tmp_path):
    kernel, own = service_migrations("supervision_svc")
    before = tmp_path / "supervision-0003"  # the release before: its migrations up to 0003
    before.mkdir()
    for path in sorted(own.glob("000[123]_*.sql")):
        shutil.copy(path, before)
    assert migrate(database_url, schema, [kernel, before]) == ["0001_clocks", "0002_cases_feedback",
                                                               "0003_instructions"]

    time = ManualTime(dt.datetime(2026, 3, 3, 10, tzinfo=CHINA))
    feedback = Feedback(Supervision(load_reference(SystemSettings()), warn_share=0.8, suggestion_after_reds=2),
                        rectification_days=15, complaint_limit_days=10)
    with open_pool(database_url, schema, max_size=2) as pool:
        unit_of_work = unit_of_work_factory(pool, "supervision", schema, time)
        with unit_of_work() as uow:  # filed as the release before filed it
            uow.execute("INSERT INTO cases (case_number, item_code, department, kind, level, channel, organisation, "
                        "first_clerk, accepted_on, promised_limit_days, legal_limit_days) VALUES ('U1', 'MZ-005', "
                        "'civil_affairs', 'promised', 'township', 'window', 'zhangqiao-desk', 'c', %s, 3, 20)",
                        [D(2026, 3, 2)])
            (rating_id,) = uow.execute(
                "INSERT INTO ratings (request_id, case_number, channel, act, level, named, department, organisation, "
                "rated_on) VALUES ('u1', 'U1', 'on_site', 'acceptance', 1, false, NULL, 'zhangqiao-desk', %s) "
                "RETURNING id", [D(2026, 3, 3)]).fetchone()
            uow.execute("INSERT INTO rectifications (rating_id, department, organisation, opened_on) "
                        "VALUES (%s, NULL, 'zhangqiao-desk', %s)", [rating_id, D(2026, 3, 3)])
        rows = "SELECT r.department, r.organisation, g.department, g.organisation FROM rectifications r " \
               "JOIN ratings g ON g.id = r.rating_id"
        with unit_of_work() as uow:
            filed = uow.execute(rows).fetchall()
        assert filed == [(None, "zhangqiao-desk", None, "zhangqiao-desk")]

        upgraded = migrate(database_url, schema, service_migrations("supervision_svc"))
        assert {"0004_acceptance_ratings", "0007_people_at_work"} <= set(upgraded)
        with unit_of_work() as uow:
            assert uow.execute(rows).fetchall() == filed
            # the rating counts for the desk and the clerk of the acceptance (the clerk's code then)
            assert uow.execute("SELECT by_organisation, by_person, by_post FROM ratings").fetchall() == [
                ("zhangqiao-desk", "c", "")]
        with pytest.raises(Forbidden), unit_of_work() as uow:
            feedback.rectify(uow, holder_role("luqiao-centre", feedback.ref.org), rating_id, "fixed", "x")
        with unit_of_work() as uow:
            done = feedback.rectify(uow, holder_role("zhangqiao-centre", feedback.ref.org), rating_id,
                                    "explained", "受理员已重新培训")
        assert (done["resolution"], done["resolved_on"]) == ("explained", D(2026, 3, 3))
        assert (done["resolved_by"]["holder"], done["post"], done["followed_up_by"]) == ("zhangqiao-centre", "", None)
