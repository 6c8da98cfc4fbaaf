"""The acceptance desk (受理台) on the real PostgreSQL, through intake's use cases with time injected:
the clerk's refusal and consultation recorded once per request id, the fee collected once with its
history entry and its event in the outbox, the desk's list of its own cases paged without repeats,
filtered by day and by what is still owed, through indexes on a few thousand cases."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid

import kombu
import psycopg
import pytest

from hall.domain import Applicant, Application, Channel, ProvidedMaterial
from hall.reference import load_reference
from intake_svc import agents, fees, store, window
from intake_svc.acceptance import ClerkChoice
from intake_svc.history import verify
from intake_svc.use_cases import Intake
from services.access import Caller, Role
from services.contracts import new_envelope, parse_envelope
from services.db import migrate, open_pool, service_migrations
from services.errors import Forbidden, InvalidRequest, NotAllowedNow
from services.relay import OutboxRelay, Publisher
from services.timesource import CHINA, ManualTime
from services.uow import unit_of_work_factory
from tests.flow_steps import id_number
from tests.support import wait_until
from tooling.settings import SystemSettings

REF = load_reference(SystemSettings())
DAY_BEFORE, TODAY = dt.date(2026, 2, 9), dt.date(2026, 2, 10)
# 田萍 at the county acceptance desk (deploy/staff.yaml); a clerk of a township desk; a village agent
CLERK = Caller(Role.CLERK, "county-desk", "county-desk", person="SX0008", post="county-desk/acceptance_clerk/1",
               name="田萍")
TOWNSHIP = Caller(Role.CLERK, "zhangqiao-desk", "zhangqiao-desk")
AGENT = Caller(Role.AGENT, "agent-zhangqiao-liugang", "zhangqiao-liugang-room")
ROOM = Caller(Role.CLERK, "zhangqiao-liugang-room", "zhangqiao-liugang-room")
PHONE = "13912345678"


@pytest.fixture
def desk(database_url):
    schema = f"intake_{uuid.uuid4().hex[:8]}"
    migrate(database_url, schema, service_migrations("intake_svc"))
    pool = open_pool(database_url, schema, 2)
    time = ManualTime(dt.datetime.combine(TODAY, dt.time(9), CHINA))

    class Harness:
        intake = Intake(REF, commitment_days=5)
        uow = staticmethod(unit_of_work_factory(pool, "intake", schema, time))
        clock = time

        def relay(self, amqp_url: str) -> OutboxRelay:
            return OutboxRelay(pool, database_url, "intake", schema, Publisher.for_events(amqp_url, "intake"))

        def sql(self, query: str, params=()):
            with self.connect() as conn:
                cur = conn.execute(query, params)
                return cur.fetchall() if cur.description else []

        def connect(self) -> psycopg.Connection:
            return psycopg.connect(database_url, autocommit=True, options=f"-c search_path={schema}")

        def events(self, name: str) -> list[dict]:
            return [parse_envelope(e).payload for (e,) in self.sql(
                "SELECT envelope FROM outbox WHERE event_type = %s ORDER BY seq", [name])]

        def submit(self, app: Application, caller: Caller = CLERK, choice: ClerkChoice = ClerkChoice()) -> dict:
            if not caller.person:  # a system's token names its clerk
                app = dataclasses.replace(app, first_clerk="窗口1号")
            with self.uow() as work:
                return self.intake.submit(work, caller, app, choice)

        def fee(self, number: str, amount="20", receipt="NO.0001", reason="", request_id="fee-1",
                caller: Caller = CLERK) -> dict:
            with self.uow() as work:
                return self.intake.record_fee(work, caller, number, fees.payment(request_id, number, amount,
                                                                                   receipt, reason))

        def cases(self, caller: Caller = CLERK, accepted_on="", waiting=False, size=0, token="") -> dict:
            with self.uow() as work:
                return self.intake.list_cases(work, caller, accepted_on, waiting, size, token)

        def read(self, number: str) -> dict:
            with self.uow() as work:
                case = self.intake.read(work, CLERK, number)
            assert verify(number, case["history"], case["history_seq"], case["history_head"]) == []
            return case

        def written(self) -> tuple:
            return self.sql("SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM history), "
                            "(SELECT count(*) FROM consultations), (SELECT count(*) FROM outbox)")[0]

    yield Harness()
    pool.close()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def application(item_code: str = "MZ-001", organisation: str = "county-desk", missing=(), **fields) -> Application:
    item = REF.catalogue.item(item_code)
    return Application(**{
        "item_code": item_code, "applicant": Applicant("王小明", id_number(uuid.uuid4().int), PHONE),
        "channel": Channel.WINDOW, "organisation": organisation, "first_clerk": "",
        "materials": tuple(ProvidedMaterial(m.code) for m in item.materials if m.code not in missing),
        "request_id": uuid.uuid4().hex, **fields})


def proxy(item_code: str = "MZ-001", **fields) -> Application:
    return application(item_code, "zhangqiao-liugang-room", channel=Channel.PROXY_AGENT,
                       agent="agent-zhangqiao-liugang", consent_ref="WT-2026-0007", **fields)


# --- the clerk's own answer ------------------------------------------------------------------------


def test_the_clerks_refusal_is_a_case_not_accepted_with_its_reasons_once_per_request(desk):
    app = application(missing=("id_card",))
    refusal = ClerkChoice(("申请人家庭收入超过低保标准",))
    receipt = desk.submit(app, choice=refusal)
    assert (receipt["status"], receipt["kind"], receipt["reasons"]) == \
        ("not_accepted", "returned", ["申请人家庭收入超过低保标准"])
    assert receipt["one_time_notice"] == []  # the materials do not matter
    number = receipt["case_number"]
    assert desk.submit(app, choice=refusal) == receipt  # the same request again: the same receipt
    case = desk.read(number)
    assert case["archived_at"] is not None and case["receipt"]["reasons"] == ["申请人家庭收入超过低保标准"]
    assert [(e.data["kind"], e.data["detail"]) for e in case["history"]][1:] == [
        ("not_accepted", {"reasons": ["申请人家庭收入超过低保标准"]})]
    (rejected,) = desk.events("ApplicationRejected")
    assert rejected["reasons"] == ["申请人家庭收入超过低保标准"] and rejected["by"]["person"] == "SX0008"
    before = desk.written()
    with pytest.raises(InvalidRequest) as info:  # the same request id for another answer
        desk.submit(app, choice=ClerkChoice(("另一理由",)))
    assert info.value.violations == [("request_id", "already used for a different application")]
    assert desk.written() == before == (1, 2, 0, 1)


def test_the_applicant_only_asked_a_consultation_is_recorded_once_and_no_case(desk):
    app = application("MZ-001", missing=("application",))
    receipt = desk.submit(app, choice=ClerkChoice(consultation=True))
    assert receipt["status"] == "consulted" and receipt["case_number"] == ""
    assert desk.submit(app, choice=ClerkChoice(consultation=True)) == receipt
    assert desk.sql("SELECT request_id, item_code, first_clerk FROM consultations") == [
        (app.request_id, "MZ-001", "SX0008")]
    (answered,) = desk.events("ConsultationAnswered")
    assert answered["item_code"] == "MZ-001" and answered["by"]["person"] == "SX0008"
    before = desk.written()
    for other in (app, dataclasses.replace(app, commitment_signed=True)):  # an application under the same id
        with pytest.raises(InvalidRequest) as info:
            desk.submit(other)
        assert info.value.violations == [("request_id", "already used for a different application")]
    assert desk.written() == before == (0, 0, 1, 1)


def test_a_consultation_recorded_before_its_digest_was_kept_answers_its_retry(desk):
    app = application("ZX-001", organisation="zhangqiao-desk")
    first = desk.submit(app, TOWNSHIP)
    desk.sql("UPDATE consultations SET request_hash = NULL")  # as migration 0006 leaves the rows before it
    assert desk.submit(app, TOWNSHIP) == first
    assert desk.written() == (0, 0, 1, 1)


def test_a_required_form_field_left_empty_writes_nothing(desk):
    with pytest.raises(InvalidRequest) as info:
        desk.submit(application("MZ-006", "county-window-civil-affairs", form={"man_name": "王小明"}),
                    Caller(Role.CLERK, "county-window-civil-affairs", "county-window-civil-affairs"))
    assert info.value.violations == [("form.registration_type", "required"), ("form.woman_name", "required")]
    assert desk.written() == (0, 0, 0, 0)
    done = desk.submit(application("MZ-006", "county-window-civil-affairs", form={
        "registration_type": "初婚", "man_name": "王小明", "woman_name": "李小红"}),
        Caller(Role.CLERK, "county-window-civil-affairs", "county-window-civil-affairs"))
    assert done["status"] == "accepted"
    assert desk.sql("SELECT application->'form'->>'woman_name' FROM cases") == [("李小红",)]


# --- the fee ---------------------------------------------------------------------------------------


def test_the_fee_is_collected_once_on_the_case_in_its_history_and_as_one_event(desk):
    number = desk.submit(application("GA-001"))["case_number"]
    view = desk.fee(number, "20", "皖财票 No.00012345")
    assert (view["fee_collected_yuan"], view["fee_receipt_number"], view["fee_yuan"]) == \
        ("20", "皖财票 No.00012345", "20")
    assert view["fee_collected_at"] == desk.clock.now() and view["fee_reduction_reason"] is None
    entry = view["history"][-1].data
    assert (entry["kind"], entry["actor"], entry["by"]) == ("fee_collected", "SX0008", CLERK.actor())
    assert entry["detail"] == {"amount_yuan": "20", "receipt_number": "皖财票 No.00012345", "reduction_reason": ""}
    (collected,) = desk.events("FeeCollected")
    assert collected == {"item_code": "GA-001", "organisation": "county-desk", "amount_fen": 2000,
                         "receipt_number": "皖财票 No.00012345", "collected_on": str(TODAY), "by": CLERK.actor()}

    desk.clock.set(desk.clock.now() + dt.timedelta(minutes=5))  # the same request again, later
    again = desk.fee(number, "20", "皖财票 No.00012345")
    assert {k: again[k] for k in ("fee_collected_yuan", "fee_collected_at", "history_seq")} == \
        {k: view[k] for k in ("fee_collected_yuan", "fee_collected_at", "history_seq")}
    before = desk.written()
    with pytest.raises(NotAllowedNow, match="already collected"):  # 一次性收费: not a second time
        desk.fee(number, "20", "皖财票 No.00099999", request_id="fee-2")
    with pytest.raises(InvalidRequest) as info:
        desk.fee(number, "20", "皖财票 No.00099999")
    assert info.value.violations == [("request_id", "already used for a different fee")]
    assert desk.written() == before
    assert len(desk.events("FeeCollected")) == 1
    assert [e.data["kind"] for e in desk.read(number)["history"]].count("fee_collected") == 1


def test_the_fee_collected_goes_out_on_the_bus_once(desk, amqp_url):
    """Through the outbox and its relay to RabbitMQ: one FeeCollected however often the clerk's
    request is repeated."""
    connection = kombu.Connection(amqp_url)
    queue = kombu.Queue("fees", Publisher.for_events(amqp_url, "intake").exchange, routing_key="FeeCollected")
    bound = queue(connection.channel())
    bound.declare()
    try:
        number = desk.submit(application("GA-001"))["case_number"]
        for _ in range(3):
            desk.fee(number, "20", "No.42")
        relay = desk.relay(amqp_url)
        assert relay.publish_pending() == 2 and relay.unpublished() == 0  # ApplicationAccepted, FeeCollected

        def received():
            found = []
            while (message := bound.get(accept=["json"])) is not None:
                found.append(message.payload)
                message.ack()
            return found
        (message,) = wait_until(received, what="FeeCollected from RabbitMQ")
        assert (message["type"], message["case_number"], message["payload"]["amount_fen"]) == \
            ("FeeCollected", number, 2000)
        assert relay.publish_pending() == 0 and received() == []
    finally:
        connection.release()


def test_a_reduced_fee_names_its_reason(desk):
    number = desk.submit(application("GT-002", form={"property_location": "示范县城关镇幸福路8号"}))["case_number"]
    view = desk.fee(number, "40", "No.7", "低保家庭减半收取登记费")
    assert (view["fee_collected_yuan"], view["fee_yuan"], view["fee_reduction_reason"]) == \
        ("40", "80", "低保家庭减半收取登记费")
    (collected,) = desk.events("FeeCollected")
    assert collected["amount_fen"] == 4000


def test_a_fee_on_another_organisations_case_a_free_item_or_a_case_not_accepted_writes_nothing(desk):
    ours = desk.submit(application("GA-001"))["case_number"]
    free = desk.submit(application("MZ-001"))["case_number"]
    notice = desk.submit(application("GA-001", missing=("household_register",)))["case_number"]
    township = desk.submit(application("GA-001", "zhangqiao-desk"), TOWNSHIP)["case_number"]
    before = desk.written()
    with pytest.raises(Forbidden):
        desk.fee(township)  # 田萍 of the county desk
    with pytest.raises(Forbidden):
        desk.fee(ours, caller=TOWNSHIP)
    with pytest.raises(NotAllowedNow, match="this item is free"):
        desk.fee(free)
    with pytest.raises(NotAllowedNow, match="supplement_required"):
        desk.fee(notice)
    with pytest.raises(InvalidRequest) as info:
        desk.fee(ours, "25")
    assert info.value.violations == [("amount_yuan", "at most the item's fee, 20 yuan")]
    assert desk.written() == before and desk.events("FeeCollected") == []


# --- the desk's list -------------------------------------------------------------------------------


def _numbers(page: dict) -> list[str]:
    return [c["case_number"] for c in page["cases"]]


def test_pages_of_the_desks_cases_newest_first_never_repeat_a_case(desk):
    numbers = []
    for minute in range(23):  # of the county desk, one a minute; ties in time are ordered by number
        desk.clock.set(dt.datetime.combine(TODAY, dt.time(9, minute // 2), CHINA))
        numbers.append(desk.submit(application())["case_number"])
    desk.submit(application(organisation="zhangqiao-desk"), TOWNSHIP)  # another desk's
    newest_first = numbers[::-1]

    seen, totals, token, pages = [], [], "", 0
    while True:
        page = desk.cases(size=5, token=token)
        assert len(page["cases"]) <= 5
        seen += _numbers(page)
        totals.append(page["total"])
        pages += 1
        if pages == 2:  # a case received meanwhile is newer than every page: it never shows up later
            desk.clock.set(dt.datetime.combine(TODAY, dt.time(10), CHINA))
            late = desk.submit(application())["case_number"]
        token = page["next_page_token"]
        if not token:
            break
    assert seen == newest_first and pages == 5 and late not in seen
    assert totals == [None] * 5  # every day's: not counted
    day = desk.cases(accepted_on=str(TODAY), size=5)
    assert day["total"] == 24 and _numbers(day) == [late, *newest_first][:5]
    assert _numbers(desk.cases(size=100)) == [late, *newest_first]
    assert _numbers(desk.cases())[:20] == [late, *newest_first][:20]  # 20 by default
    assert _numbers(desk.cases(TOWNSHIP)) != [] and not set(_numbers(desk.cases(TOWNSHIP))) & set(seen)


def test_a_row_shows_the_applicant_to_staff_with_the_id_number_and_phone_masked(desk):
    app = application("MZ-003", missing=("disability_cert",))
    number = desk.submit(app, choice=ClerkChoice())["case_number"]
    (row,) = desk.cases()["cases"]
    assert (row["case_number"], row["applicant_name"], row["item_code"]) == (number, "王小明", "MZ-003")
    assert row["id_number"] == app.applicant.id_number[:4] + "*" * 10 + app.applicant.id_number[-4:]
    assert row["phone"] == "139****5678" and row["first_clerk"] == "SX0008"
    assert row["owed"] == [("disability_cert", "残疾人证（如有）", "one_time_notice")]


def test_the_days_cases_are_those_received_or_accepted_that_day(desk):
    desk.clock.set(dt.datetime.combine(DAY_BEFORE, dt.time(16), CHINA))
    yesterday = desk.submit(application())["case_number"]
    noticed = desk.submit(application(missing=("id_card",)))["case_number"]
    desk.clock.set(dt.datetime.combine(TODAY, dt.time(0, 5), CHINA))  # just after midnight, China time
    with desk.uow() as work:  # the applicant brings the missing card: accepted today
        desk.intake.supply_materials(work, CLERK, noticed, [ProvidedMaterial("id_card")], "")
    today = desk.submit(application())["case_number"]
    assert _numbers(desk.cases(accepted_on=str(TODAY))) == [today, noticed]
    assert _numbers(desk.cases(accepted_on=str(DAY_BEFORE))) == [noticed, yesterday]
    assert desk.cases(accepted_on="2026-02-11") == {"cases": [], "next_page_token": "", "total": 0}


def test_waiting_lists_the_cases_that_still_owe_materials_whatever_asked_for_them(desk):
    accepted = desk.submit(application())["case_number"]
    noticed = desk.submit(application(missing=("id_card", "application")))["case_number"]
    promised = desk.submit(application("MZ-003", missing=("disability_cert",), commitment_signed=True))["case_number"]
    asked = desk.submit(application())["case_number"]
    refused = desk.submit(application(missing=("id_card",)), choice=ClerkChoice(("不符合条件",)))["case_number"]
    request = {"task_id": f"{asked}.1.civil_affairs", "department": "civil_affairs", "note": "",
               "materials": [{"code": "income_statement", "problem": "未签字"}], "late": False}
    with desk.uow() as work:  # the department asks for material (补正)
        desk.intake.supplement_requested(work, _event("SupplementRequested", asked, request))

    page = desk.cases(waiting=True)
    assert _numbers(page) == [asked, promised, noticed] and page["total"] == 3
    owed = {c["case_number"]: c["owed"] for c in page["cases"]}
    assert owed == {asked: [("income_statement", "家庭收入及财产状况申报表", "department")],
                    promised: [("disability_cert", "残疾人证（如有）", "commitment")],
                    noticed: [("application", "最低生活保障申请书", "one_time_notice"),
                              ("id_card", "家庭成员居民身份证", "one_time_notice")]}
    assert {accepted, refused} <= set(_numbers(desk.cases()))

    with desk.uow() as work:  # each brings what it owed: nothing waits any more
        desk.intake.supply_materials(work, CLERK, promised, [ProvidedMaterial("disability_cert")], "")
        desk.intake.supply_materials(work, CLERK, noticed, [ProvidedMaterial("id_card"),
                                                              ProvidedMaterial("application")], "")
        desk.intake.supply_materials(work, CLERK, asked, [ProvidedMaterial("income_statement")], "")
    assert desk.cases(waiting=True) == {"cases": [], "next_page_token": "", "total": 0}


def _event(name: str, number: str, payload: dict):
    envelope = new_envelope("approval", name, number, payload, dt.datetime.combine(TODAY, dt.time(11), CHINA))
    return parse_envelope(json.loads(envelope.model_dump_json()))


def test_an_agent_lists_only_its_own_proxy_cases(desk):
    own = desk.submit(proxy(), AGENT)["case_number"]
    room = desk.submit(application(organisation="zhangqiao-liugang-room"), ROOM)["case_number"]
    assert _numbers(desk.cases(AGENT)) == [own]
    assert _numbers(desk.cases(ROOM)) == [room, own]
    (row,) = desk.cases(AGENT)["cases"]
    assert row["agent"] == "agent-zhangqiao-liugang"


# --- through indexes --------------------------------------------------------------------------------


class _Explaining:
    """In place of a unit of work: the plan of each query `store.list_cases` runs."""

    def __init__(self, conn):
        self._conn, self.plans = conn, []
        self.conn = self

    def cursor(self, row_factory=None):
        return self

    def execute(self, query, params):
        plan = self._conn.execute("EXPLAIN " + query, params).fetchall()
        self.plans.append("\n".join(line for (line,) in plan))
        return self._conn.execute("SELECT 0")


def test_every_list_reads_through_an_index_on_thousands_of_cases(desk):
    """The cases of 5 accepting organisations over 38 days, 5000 in all, a few waiting: each list of
    one organisation (a day's, those waiting, a later page, an agent's) reads an index, never the whole
    table; a day's through the time received and the day accepted, those waiting through their own; an
    agent's own and its ledger through the agents' indexes."""
    desk.sql("""
        INSERT INTO cases (case_number, request_id, request_hash, item_code, item_name, kind, status, level,
                           organisation, channel, first_clerk, applicant, application, receipt, provided,
                           received_at, accepted_on, promised_materials, history_head)
        SELECT lpad(n::text, 15, '0'), 'r-' || n, 'h', 'MZ-001', '城市居民最低生活保障审批', 'promised',
               CASE WHEN n %% 50 = 0 THEN 'supplement_required' WHEN n %% 3 = 0 THEN 'concluded' ELSE 'in_handling' END,
               'county', 'org-' || (n %% 5), 'window', 'c', '{"name": "王小明", "id_number": "x", "phone": "1"}',
               '{}', '{"one_time_notice": []}', '{}',
               timestamptz '2026-01-01 08:00+08' + n * interval '11 minutes',
               (timestamptz '2026-01-01 08:00+08' + n * interval '11 minutes')::date,
               CASE WHEN n %% 70 = 0 THEN '["disability_cert"]'::jsonb ELSE '[]'::jsonb END, 'g'
        FROM generate_series(1, 5000) AS n""")
    desk.sql("ANALYZE cases")
    token = window.page_token(dt.datetime(2026, 1, 20, tzinfo=CHINA), "000000000002500")
    indexes = {"newest": {"cases_organisation_received"}, "day": {"cases_organisation_received", "cases_accepted_on"},
               "waiting": {"cases_waiting"}, "page": {"cases_organisation_received"},
               "agent": {"cases_agent_received"}}  # an agent's few cases, wherever accepted (migration 0009)
    with desk.connect() as conn:
        for name, expected in indexes.items():
            caller = dataclasses.replace(AGENT if name == "agent" else CLERK, organisation="org-2")
            query = window.case_query(caller, "2026-01-15" if name == "day" else "", name == "waiting", 20,
                                      token if name == "page" else "")
            explaining = _Explaining(conn)
            store.list_cases(explaining, query)
            *count, rows = explaining.plans
            assert len(count) == (name in ("day", "waiting"))  # a total of every day's is not counted
            for plan in explaining.plans:
                assert "Seq Scan" not in plan and expected <= set(plan.replace("(", " ").split()), (name, plan)
            if name == "page":  # the page starts in the index, not after reading the pages before it
                assert "Index Cond: ((organisation = 'org-2'::text) AND (ROW(received_at, case_number) <" in rows
        # the agent's ledger (代办台账): its cases as agent, carrier, receiver or companion, each through its index
        explaining = _Explaining(conn)
        store.list_agent_cases(explaining, agents.ledger_query(AGENT, agents.View.WAITING, 20, ""))
        (plan,) = explaining.plans
        assert "Seq Scan" not in plan and {"cases_agent_received", "cases_carrier_received", "cases_handover_to",
                                           "cases_accompanied_received"} <= set(plan.split()), plan
