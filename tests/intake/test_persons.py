"""Every intake act names its person (issue 15), on the real PostgreSQL: a signed-in clerk is the
first-contact person (首问负责人) of what they accept, and each act carries `by` on its event and
in its hash-chained history entry; other services' events give theirs; the public Track names no
person, only the responsible window and its public phone."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid

import psycopg
import pytest

from hall.domain import Applicant, Application, Channel, ProvidedMaterial
from hall.reference import load_reference
from intake_svc.acceptance import SIGNED_IN_CLERK, first_contact
from intake_svc.history import verify
from intake_svc.use_cases import Intake
from services.access import Caller, Role
from services.contracts import new_envelope, parse_envelope
from services.db import migrate, open_pool, service_migrations
from services.errors import InvalidRequest
from services.timesource import CHINA, ManualTime
from services.uow import unit_of_work_factory
from tests.flow_steps import id_number
from tooling.settings import SystemSettings

REF = load_reference(SystemSettings())
# 田萍 at the county acceptance desk's seat 1 (deploy/staff.yaml)
CLERK = Caller(Role.CLERK, "county-desk", "county-desk", person="SX0008", post="county-desk/acceptance_clerk/1",
               name="田萍")
SYSTEM = Caller(Role.CLERK, "county-desk", "county-desk")  # the county's own system, by its token
PHONE = "13912345678"


@pytest.fixture
def hall(database_url):
    schema = f"intake_{uuid.uuid4().hex[:8]}"
    migrate(database_url, schema, service_migrations("intake_svc"))
    pool = open_pool(database_url, schema, 2)
    time = ManualTime(dt.datetime(2026, 2, 10, 9, tzinfo=CHINA))

    class Harness:
        intake = Intake(REF, commitment_days=5)
        uow = staticmethod(unit_of_work_factory(pool, "intake", schema, time))

        def sql(self, query: str, params=()):
            with psycopg.connect(database_url, autocommit=True, options=f"-c search_path={schema}") as conn:
                return conn.execute(query, params).fetchall()

        def events(self, name: str) -> list[dict]:
            return [parse_envelope(e).payload for (e,) in self.sql(
                "SELECT envelope FROM outbox WHERE event_type = %s ORDER BY seq", [name])]

        def history(self, number: str) -> list[dict]:
            with self.uow() as work:
                case = self.intake.read(work, SYSTEM, number)
                assert verify(number, case["history"], case["history_seq"], case["history_head"]) == []
            return [e.data for e in case["history"]]

    yield Harness()
    pool.close()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def application(item_code: str = "MZ-001", first_clerk: str = "", missing=(), **fields) -> Application:
    item = REF.catalogue.item(item_code)
    return Application(item_code=item_code, applicant=Applicant("王小明", id_number(uuid.uuid4().int), PHONE),
                       channel=Channel.WINDOW, organisation="county-desk", first_clerk=first_clerk,
                       materials=tuple(ProvidedMaterial(m.code) for m in item.materials if m.code not in missing),
                       request_id=uuid.uuid4().hex, **fields)


def test_the_first_contact_person_is_whoever_is_signed_in():
    assert first_contact("", "SX0008") == "SX0008"
    assert first_contact("SX0008", "SX0008") == "SX0008"
    assert first_contact("县系统-张三", "") == "县系统-张三"  # a county system names its clerk itself
    with pytest.raises(InvalidRequest) as info:
        first_contact("SX0009", "SX0008")
    assert info.value.violations == [("first_clerk", SIGNED_IN_CLERK)]
    with pytest.raises(InvalidRequest) as info:
        first_contact("SX0009", "SX0008", "clerk")
    assert info.value.violations == [("clerk", SIGNED_IN_CLERK)]


def test_a_signed_in_clerk_is_the_first_contact_person_and_named_on_every_act(hall):
    with hall.uow() as work:
        receipt = hall.intake.submit(work, CLERK, application())
    number = receipt["case_number"]
    assert hall.sql("SELECT first_clerk FROM cases WHERE case_number = %s", [number]) == [("SX0008",)]
    (accepted,) = hall.events("ApplicationAccepted")
    assert accepted["first_clerk"] == "SX0008" and accepted["by"] == CLERK.actor()
    assert CLERK.actor() == {"person": "SX0008", "name": "田萍", "post": "county-desk/acceptance_clerk/1",
                             "organisation": "county-desk", "holder": "county-desk"}
    entries = hall.history(number)
    assert [(e["kind"], e["actor"], e["by"]) for e in entries] == [
        ("received", "SX0008", CLERK.actor()), ("accepted", "SX0008", CLERK.actor())]

    # the same request again (a retried call) is the same application: one case
    with hall.uow() as work:
        app = application()
        first = hall.intake.submit(work, CLERK, app)
    with hall.uow() as work:
        assert hall.intake.submit(work, CLERK, app) == first


def test_a_signed_in_clerk_may_not_name_another_as_first_contact_and_nothing_is_written(hall):
    with pytest.raises(InvalidRequest) as info, hall.uow() as work:
        hall.intake.submit(work, CLERK, application(first_clerk="SX0009"))
    assert info.value.violations == [("first_clerk", SIGNED_IN_CLERK)]
    assert hall.sql("SELECT count(*) FROM cases") == [(0,)]
    assert hall.sql("SELECT count(*) FROM outbox") == [(0,)]


def test_a_county_system_still_names_its_clerk_and_the_act_names_the_system(hall):
    with hall.uow() as work:
        number = hall.intake.submit(work, SYSTEM, application(first_clerk="窗口3号"))["case_number"]
    (accepted,) = hall.events("ApplicationAccepted")
    system = {"person": "", "name": "", "post": "", "organisation": "county-desk", "holder": "county-desk"}
    assert accepted["first_clerk"] == "窗口3号" and accepted["by"] == system
    assert [(e["actor"], e["by"]) for e in hall.history(number)] == [("窗口3号", system)] * 2


def test_notices_refusals_consultations_supplies_and_withdrawals_name_their_person(hall):
    with hall.uow() as work:  # a one-time notice, then the materials at the next visit
        notice = hall.intake.submit(work, CLERK, application("MZ-003", missing=("village_opinion",)))
    other = dataclasses.replace(CLERK, person="SX0010", name="毛爱民", post="county-desk/acceptance_clerk/2")
    with pytest.raises(InvalidRequest) as info, hall.uow() as work:
        hall.intake.supply_materials(work, other, notice["case_number"], [ProvidedMaterial("village_opinion")],
                                     "SX0008")
    assert info.value.violations == [("clerk", SIGNED_IN_CLERK)]
    with hall.uow() as work:
        hall.intake.supply_materials(work, other, notice["case_number"], [ProvidedMaterial("village_opinion")], "")
    with hall.uow() as work:
        hall.intake.withdraw(work, CLERK, notice["case_number"], "申请人不再申请", PHONE[-4:])
    with hall.uow() as work:  # decided at the township: not accepted at the county
        refused = hall.intake.submit(work, CLERK, application("MZ-005"))
    with hall.uow() as work:
        hall.intake.submit(work, CLERK, application("ZX-001"))  # a consultation: no case, its event

    assert [(e["kind"], e["actor"], e["by"]["person"]) for e in hall.history(notice["case_number"])] == [
        ("received", "SX0008", "SX0008"), ("one_time_notice", "SX0008", "SX0008"),
        ("materials_supplied", "SX0010", "SX0010"), ("accepted", "SX0010", "SX0010"),
        ("withdrawn", "applicant", "SX0008")]
    assert [e["kind"] for e in hall.history(refused["case_number"])] == ["received", "not_accepted"]
    for name, person in (("SupplementNoticeIssued", "SX0008"), ("ApplicationAccepted", "SX0010"),
                         ("ApplicationWithdrawn", "SX0008"), ("ApplicationRejected", "SX0008"),
                         ("ConsultationAnswered", "SX0008")):
        (payload,) = hall.events(name)
        assert payload["by"]["person"] == person, name


def test_other_services_events_give_their_person_to_the_history(hall):
    with hall.uow() as work:
        number = hall.intake.submit(work, CLERK, application())["case_number"]
    handler = {"person": "SX0018", "name": "曾玉梅", "post": "county-window-civil-affairs/handler/1",
               "organisation": "county-window-civil-affairs", "holder": "civil_affairs"}
    approver = {"person": "SX0019", "name": "谭子涵", "post": "county-window-civil-affairs/approver/1",
                "organisation": "county-window-civil-affairs", "holder": "civil_affairs", "step": "approver",
                "opinion": "同意"}
    decided = {"task_id": f"{number}.1.civil_affairs", "department": "civil_affairs", "stage": 1,
               "decision": "approve", "opinion": "符合条件", "legal_basis": "《社会救助暂行办法》", "by": handler,
               "signed_off": [approver], "organisation": "county-window-civil-affairs",
               "decided_at": "2026-02-11T09:30:00+08:00"}
    concluded = {"result": "issued", "concluded_on": "2026-02-11", "reasons": [], "stage": 1, "decisions": [decided]}
    paused = {"task_id": f"{number}.1.civil_affairs", "department": "civil_affairs", "reason": "suspension",
              "note": "待公安核查"}  # as the release before persons sent it: no `by`
    pause_event = _event("TaskPaused", number, paused)
    with hall.uow() as work:
        hall.intake.task_paused(work, pause_event)
    with hall.uow() as work:  # the conclusion reports its stage's decisions: each an entry of its own
        hall.intake.concluded(work, _event("CaseConcluded", number, concluded))

    *_, pause, decision, end = hall.history(number)  # the chain verifies (hall.history)
    assert end["kind"] == "concluded" and decision["at"] == "2026-02-11T09:30:00+08:00"
    assert (pause["kind"], pause["actor"], "by" in pause) == ("task_paused", "civil_affairs", False)
    assert pause["detail"] == {k: v for k, v in pause_event.payload.items() if k != "by"}
    assert (decision["kind"], decision["actor"], decision["by"]) == ("decided", "SX0018", handler)
    assert "by" not in decision["detail"] and decision["detail"]["signed_off"] == [approver]


def _event(name: str, number: str, payload: dict):
    envelope = new_envelope("approval", name, number, payload, dt.datetime(2026, 2, 11, 10, tzinfo=CHINA))
    return parse_envelope(json.loads(envelope.model_dump_json()))


def test_the_public_track_names_the_window_and_its_phone_and_no_person(hall):
    with hall.uow() as work:
        number = hall.intake.submit(work, CLERK, application())["case_number"]
    with hall.uow() as work:
        view = hall.intake.track(work, number, PHONE[-4:], "203.0.113.9")
    assert (view["window"], view["window_phone"]) == ("县行政服务中心咨询受理部", "0550-6010000")  # the centre's
    public = json.dumps([view[k] for k in ("steps", "window", "window_phone", "applicant_name", "phone")],
                        ensure_ascii=False)
    assert sorted(s for _, s in view["steps"]) == sorted(["已收件", "已受理"])
    for private in ("SX0008", "田萍", "0550-6012050", "王小明", PHONE):
        assert private not in public
