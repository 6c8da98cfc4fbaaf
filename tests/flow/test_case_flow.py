"""The case flow through every service, in one process on the real PostgreSQL (tooling.inprocess),
driven through the gRPC APIs only (the database is read to check the books, and written once to
tamper with a history entry). tests/e2e runs cases through the OS processes and RabbitMQ."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import threading
import uuid

import grpc
import pytest
from onewindow.desk.v1 import desk_pb2 as dpb
from onewindow.intake.v1 import intake_pb2 as ipb
from onewindow.supervision.v1 import supervision_pb2 as spb

from hall.reference import load_reference
from notify_svc import notices
from services.contracts import new_envelope
from services.grpcutil import field_violations
from services.timesource import SystemTime, local_day
from tests.conftest import ROOT
from tests.flow_steps import approve, case_status, stage_task, submission, tasks_of
from tests.support import wait_until
from tooling.settings import SystemSettings

REFERENCE = load_reference(SystemSettings())


def _applicants_notices(kind: str, case_number: str, payload: dict, planner, item_code: str):
    """The applicant's notices notify writes for an event as approval recorded it."""
    envelope = new_envelope("approval", kind, case_number, payload, dt.datetime.now(dt.timezone.utc))
    return [n for n in notices.plan(envelope, planner, REFERENCE.catalogue, REFERENCE.org, {"name": "王小明"},
                                    item_code) if n.audience == notices.APPLICANT]


def _code(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code()


def test_village_agent_case_goes_up_two_levels_and_concludes(system):
    request = submission("MZ-001", "zhangqiao-liugang-room", channel=ipb.PROXY_AGENT,
                         agent="agent-zhangqiao-liugang", consent_ref="WT-2026-0001")
    receipt = system.intake.Submit(request, timeout=10)
    assert receipt.status == ipb.ACCEPTED and receipt.kind == ipb.PROMISED
    assert receipt.promised_deadline > receipt.accepted_on

    desk = system.desk("civil_affairs")
    (task,) = tasks_of(desk, receipt.case_number)
    case = case_status(system, receipt.case_number, "in_handling")
    routed = json.loads(next(h for h in case.history if h.kind == "routed").detail_json)["detail"]
    hops = [(t["from_organisation"], t["to_organisation"], t["to_level"]) for t in routed["transfers"]]
    assert hops == [("zhangqiao-liugang-room", "zhangqiao-desk", "township"),
                    ("zhangqiao-desk", "county-desk", "county"),
                    ("county-desk", "county-window-civil-affairs", "county")]
    assert [t["deadline"] for t in routed["transfers"]] == sorted(t["deadline"] for t in routed["transfers"])

    reply = approve(desk, task.task_id)
    assert reply.case_concluded and reply.result == "issued"
    case = case_status(system, receipt.case_number, "concluded")
    assert case.archived and case.result == "issued"
    assert case.history[0].actor == "agent-zhangqiao-liugang"


def test_investment_case_through_four_stages(system):
    """TZ-001: a supplement request, an expert review, a co-handling request, four stages."""
    receipt = system.intake.Submit(submission("TZ-001", "county-window-development-reform"), timeout=10)
    assert receipt.status == ipb.ACCEPTED
    number = receipt.case_number
    stage1 = ["development_reform", "land_resources", "planning_office", "water", "commerce"]
    tasks = {d: tasks_of(system.desk(d), number)[0] for d in stage1}
    assert {t.stage for t in tasks.values()} == {1}
    assert [d for d, t in tasks.items() if t.role == dpb.LEAD] == ["development_reform"]

    # the lead asks the applicant for material once: the clock stops, the case waits
    lead = system.desk("development_reform")
    lead_id = tasks["development_reform"].task_id
    waiting = lead.RequestSupplement(dpb.RequestSupplementRequest(
        task_id=lead_id, materials=[dpb.MaterialRequest(material_code="site_map", problem="比例尺不清")]))
    assert waiting.status == dpb.WAITING_SUPPLEMENT and not waiting.supplement_late and waiting.deadline == ""
    assert _code(lambda: lead.RequestSupplement(dpb.RequestSupplementRequest(
        task_id=lead_id, materials=[dpb.MaterialRequest(material_code="site_map", problem="again")]))) \
        == grpc.StatusCode.FAILED_PRECONDITION
    case_status(system, number, "waiting_supplement")
    system.intake.SupplyMaterials(ipb.SupplyMaterialsRequest(
        case_number=number, materials=[ipb.ProvidedMaterial(code="site_map")], clerk="clerk-02"), timeout=10)
    tasks_of(lead, number, status=dpb.CLAIMED)

    # an expert review stops the clock; co-handling is asked of two departments at once
    with pytest.raises(grpc.RpcError) as info:
        lead.StartSpecialProcedure(dpb.StartSpecialProcedureRequest(
            task_id=lead_id, procedure=dpb.EXPERT_REVIEW, note="专家评审", planned_days=-1))
    assert [f for f, _ in field_violations(info.value)] == ["planned_days"]
    assert lead.StartSpecialProcedure(dpb.StartSpecialProcedureRequest(
        task_id=lead_id, procedure=dpb.EXPERT_REVIEW, note="专家评审", planned_days=5)).status == dpb.SPECIAL_PROCEDURE
    assert _code(lambda: approve(lead, lead_id)) == grpc.StatusCode.FAILED_PRECONDITION
    assert lead.EndSpecialProcedure(dpb.TaskRef(task_id=lead_id)).status == dpb.CLAIMED
    lead.RequestCoHandling(dpb.RequestCoHandlingRequest(task_id=lead_id, asks=[
        dpb.CoHandlingAsk(department="environment", ask="环境影响初审意见", limit_days=5),
        dpb.CoHandlingAsk(department="transport", ask="交通影响意见", limit_days=5)]))
    assert _code(lambda: lead.RequestCoHandling(dpb.RequestCoHandlingRequest(task_id=lead_id, asks=[
        dpb.CoHandlingAsk(department="finance", ask="later", limit_days=5)]))) == grpc.StatusCode.FAILED_PRECONDITION
    assert _code(lambda: approve(lead, lead_id)) == grpc.StatusCode.FAILED_PRECONDITION  # co-handlers first
    for co in ("environment", "transport"):
        (co_task,) = tasks_of(system.desk(co), number)
        assert co_task.role == dpb.CO_HANDLING and co_task.lead_task_id == lead_id
        approve(system.desk(co), co_task.task_id)

    # stage by stage: only the last decision of a stage moves the case on
    replies = [approve(system.desk(d), tasks[d].task_id) for d in stage1]
    assert [r.stage_completed for r in replies] == [False] * 4 + [True] and replies[-1].next_stage == 2
    for stage, departments in ((2, ["planning_office", "environment", "transport"]),
                               (3, ["planning_construction", "work_safety"]),
                               (4, ["planning_construction", "planning_office", "land_resources", "environment",
                                    "work_safety"])):
        ids = [(d, stage_task(system.desk(d), number, stage).task_id) for d in departments]
        replies = [approve(system.desk(d), task_id) for d, task_id in ids]
    assert replies[-1].case_concluded and replies[-1].result == "issued"

    case = case_status(system, number, "concluded")
    kinds = [h.kind for h in case.history]
    for kind in ("supplement_requested", "materials_supplied", "task_paused", "task_resumed",
                 "co_handling_requested", "concluded"):
        assert kind in kinds, kind
    assert kinds.count("stage_opened") == 4
    # the applicant is told in writing when the expert review is expected to end
    paused = next(h for h in case.history if h.kind == "task_paused")
    detail = json.loads(paused.detail_json)["detail"]
    started = local_day(dt.datetime.fromisoformat(paused.at))
    assert (detail["planned_days"], detail["expected_end"]) == (5, str(REFERENCE.calendar.add(started, 5)))
    (told,) = _applicants_notices("TaskPaused", number, detail, notices.special_procedure, "TZ-001")
    assert f"于{detail['expected_end']}结束" in told.body
    assert REFERENCE.org.department("development_reform").name in told.body
    progress = system.desk("water").GetProgress(dpb.GetProgressRequest(case_number=number))
    assert progress.status == "concluded" and progress.stages == 4 and len(progress.tasks) == 17


def test_same_request_id_gives_same_receipt_and_one_case(system):
    request = submission("TZ-002", "county-window-development-reform")
    receipts = []
    threads = [threading.Thread(target=lambda: receipts.append(system.intake.Submit(request, timeout=10)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    receipts.append(system.intake.Submit(request, timeout=10))
    assert len({r.SerializeToString() for r in receipts}) == 1
    rows = system.sql("intake", "SELECT count(*) FROM cases WHERE request_id = %s", [request.request_id])
    assert rows == [(1,)]
    accepted = system.sql("intake", "SELECT count(*) FROM outbox WHERE envelope->>'case_number' = %s "
                                    "AND event_type = 'ApplicationAccepted'", [receipts[0].case_number])
    assert accepted == [(1,)]
    changed = submission("TZ-002", "county-window-development-reform", request_id=request.request_id)
    with pytest.raises(grpc.RpcError) as info:
        system.intake.Submit(changed, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(info.value)[0][0] == "request_id"


def test_concurrent_decisions_fire_one_join(system):
    departments = ["development_reform", "land_resources", "planning_office", "water", "commerce"]
    for _ in range(3):
        number = system.intake.Submit(submission("TZ-002", "county-window-development-reform"), timeout=10).case_number
        ids = {d: tasks_of(system.desk(d), number)[0].task_id for d in departments}
        barrier = threading.Barrier(len(departments))
        replies = []

        def decide(d):
            barrier.wait()
            replies.append(approve(system.desk(d), ids[d]))

        threads = [threading.Thread(target=decide, args=(d,)) for d in departments]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(r.case_concluded for r in replies) == 1
        assert system.sql("approval", "SELECT count(*) FROM outbox WHERE event_type = 'CaseConcluded' "
                                      "AND envelope->>'case_number' = %s", [number]) == [(1,)]
        case_status(system, number, "concluded")


def test_a_department_is_refused_on_another_departments_task(system):
    number = system.intake.Submit(submission("TZ-002", "county-window-development-reform"), timeout=10).case_number
    (water_task,) = tasks_of(system.desk("water"), number)
    land = system.desk("land_resources")
    assert _code(lambda: approve(land, water_task.task_id)) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: land.Claim(dpb.TaskRef(task_id=water_task.task_id))) == grpc.StatusCode.PERMISSION_DENIED
    # a department with a task in the case reads everyone's progress; one without cannot
    assert len(land.GetProgress(dpb.GetProgressRequest(case_number=number)).tasks) == 5
    assert _code(lambda: system.desk("justice").GetProgress(dpb.GetProgressRequest(case_number=number))) \
        == grpc.StatusCode.PERMISSION_DENIED
    assert not [t for t in system.desk("justice").ListTasks(dpb.ListTasksRequest(case_number=number)).tasks]
    anonymous = system._desk.ListTasks
    assert _code(lambda: anonymous(dpb.ListTasksRequest(), timeout=10)) == grpc.StatusCode.UNAUTHENTICATED
    # the water department's own actions, and the states that refuse them
    water = system.desk("water")
    assert _code(lambda: water.Resume(dpb.ResumeRequest(task_id=water_task.task_id))) \
        == grpc.StatusCode.FAILED_PRECONDITION
    assert approve(water, water_task.task_id).task.status == dpb.DECIDED
    assert _code(lambda: approve(water, water_task.task_id)) == grpc.StatusCode.FAILED_PRECONDITION
    assert _code(lambda: approve(water, "no-such-task")) == grpc.StatusCode.NOT_FOUND


def test_history_chain_detects_an_edited_entry(system):
    receipt = system.intake.Submit(submission("TZ-002", "county-window-development-reform"), timeout=10)
    number = receipt.case_number
    case_status(system, number, "in_handling")
    verify = [str(ROOT / "onewindow"), "verify-case", number]
    env = {**system.env(), "ONEWINDOW_SKIP_SERVICE_CHECK": "1"}
    ok = subprocess.run(verify, env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and f"{number}: intact" in ok.stdout
    system.sql("intake", "UPDATE history SET body = replace(body, 'clerk-01', 'clerk-99') "
                         "WHERE case_number = %s AND seq = 1", [number])
    broken = subprocess.run(verify, env=env, capture_output=True, text=True, timeout=60)
    assert broken.returncode == 1 and "entry 1: content does not match its hash" in broken.stdout


def test_bad_submissions_get_field_errors_and_leave_nothing(system):
    before = system.sql("intake", "SELECT count(*) FROM cases")
    request = submission("TZ-002", "county-office-water", request_id="")
    request.applicant.id_number = "123"
    request.materials.append(ipb.ProvidedMaterial(code="no_such_material"))
    with pytest.raises(grpc.RpcError) as info:
        system.intake.Submit(request, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = {f for f, _ in field_violations(info.value)}
    assert {"request_id", "organisation", "applicant.id_number", "materials[4].code"} <= fields
    assert system.sql("intake", "SELECT count(*) FROM cases") == before


def test_one_time_notice_then_supplement_then_acceptance(system):
    request = submission("MZ-004", "county-desk", missing=("income_statement", "hardship_proof", "village_opinion"))
    request.materials[0].defect = "未签字"
    receipt = system.intake.Submit(request, timeout=10)
    assert receipt.status == ipb.SUPPLEMENT_REQUIRED and receipt.kind == ipb.PROMISED
    notice = {(line.material_code, line.problem) for line in receipt.one_time_notice}
    assert notice == {("application", "未签字"), ("hardship_proof", "missing"), ("village_opinion", "missing")}
    again = system.intake.SupplyMaterials(ipb.SupplyMaterialsRequest(case_number=receipt.case_number, materials=[
        ipb.ProvidedMaterial(code="application"), ipb.ProvidedMaterial(code="hardship_proof"),
        ipb.ProvidedMaterial(code="village_opinion")]), timeout=10)
    assert again.status == ipb.ACCEPTED and again.case_number == receipt.case_number
    tasks_of(system.desk("civil_affairs"), receipt.case_number)


def test_withdraw_closes_the_tasks_and_track_masks_personal_data(system):
    request = submission("TZ-002", "county-window-development-reform")
    number = system.intake.Submit(request, timeout=10).case_number
    tasks_of(system.desk("commerce"), number)
    last4 = request.applicant.phone[-4:]
    public = system.intake.Track(ipb.TrackRequest(case_number=number, phone_last4=last4), timeout=10)
    assert public.phone == request.applicant.phone[:3] + "****" + last4
    assert public.id_number[:4] == request.applicant.id_number[:4] and "*" in public.id_number
    assert public.applicant_name == "王*明" and public.steps
    assert _code(lambda: system.intake.Track(ipb.TrackRequest(case_number=number, phone_last4="0000"
                                                              if last4 != "0000" else "1111"), timeout=10)) \
        == grpc.StatusCode.NOT_FOUND
    system.intake.Withdraw(ipb.WithdrawRequest(case_number=number, reason="项目调整", phone_last4=last4), timeout=10)
    tasks_of(system.desk("commerce"), number, status=dpb.WITHDRAWN)
    assert _code(lambda: system.intake.Withdraw(ipb.WithdrawRequest(
        case_number=number, reason="again", phone_last4=last4), timeout=10)) == grpc.StatusCode.FAILED_PRECONDITION


def test_watch_resumes_from_a_cursor_without_missing_work(system):
    desk = system.desk("commerce")
    (cursor,) = system.sql("approval", "SELECT coalesce(max(position), 0) FROM feed WHERE department = 'commerce'")[0]
    numbers = [system.intake.Submit(submission("TZ-002", "county-window-development-reform"), timeout=10).case_number
               for _ in range(3)]
    resumed = desk.WatchTasks(dpb.WatchTasksRequest(after_cursor=cursor), timeout=30)
    items = [next(resumed) for _ in range(3)]
    resumed.cancel()
    # the bus may route the three in any order; the feed gives each once, in cursor order
    assert sorted(i.task.case_number for i in items) == sorted(numbers)
    assert [i.cursor for i in items] == [cursor + 1, cursor + 2, cursor + 3]
    assert all(i.reason == "assigned" for i in items)


def test_unknown_case_and_bad_task_requests(system):
    assert _code(lambda: system.intake.GetCase(ipb.GetCaseRequest(case_number=uuid.uuid4().hex), timeout=10)) \
        == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as info:
        system.desk("water").Decide(dpb.DecideRequest(task_id="x"))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {f for f, _ in field_violations(info.value)} == {"decision", "opinion", "legal_basis"}


def test_a_rejection_concludes_the_case_rejected_with_every_departments_reasons(system):
    departments = ["development_reform", "land_resources", "planning_office", "water", "commerce"]
    number = system.intake.Submit(submission("TZ-002", "county-window-development-reform"), timeout=10).case_number
    ids = {d: tasks_of(system.desk(d), number)[0].task_id for d in departments}
    for d in ("land_resources", "water"):
        reply = system.desk(d).Decide(dpb.DecideRequest(task_id=ids[d], decision=dpb.REJECT, opinion=f"{d} 不符合规划",
                                                        legal_basis="《土地管理法》"))
        assert not reply.case_concluded  # the stage waits for every department
    replies = [approve(system.desk(d), ids[d]) for d in ("development_reform", "planning_office", "commerce")]
    assert replies[-1].case_concluded and replies[-1].result == "rejected"
    case = case_status(system, number, "concluded")
    # the last decision is recorded from its own queue, before or after the conclusion
    concluded = json.loads(next(h for h in case.history if h.kind == "concluded").detail_json)["detail"]
    assert case.result == "rejected" and len(concluded["reasons"]) == 2
    assert {d["department"] for d in concluded["decisions"]} == set(departments)
    # the event keeps the codes; the applicant's decision notice names the departments
    decision = _applicants_notices("CaseConcluded", number, concluded, notices.decision, "TZ-002")[0]
    for d in ("land_resources", "water"):
        assert f"{REFERENCE.org.department(d).name}：{d} 不符合规划（《土地管理法》）" in decision.body
        assert f"{d}:" not in decision.body


def test_a_reported_item_is_reviewed_at_the_county_and_reported_up(system):
    receipt = system.intake.Submit(submission("HB-002", "county-desk"), timeout=10)
    assert receipt.kind == ipb.REPORTED and receipt.status == ipb.ACCEPTED
    (task,) = tasks_of(system.desk("environment"), receipt.case_number)
    assert approve(system.desk("environment"), task.task_id).result == "reported_up"
    assert case_status(system, receipt.case_number, "concluded").result == "reported_up"


def test_suspension_over_grpc_and_paged_task_lists(system):
    number = system.intake.Submit(submission("TZ-002", "county-window-development-reform"), timeout=10).case_number
    water = system.desk("water")
    (task,) = tasks_of(water, number)
    today = task.assigned_on
    too_late = f"{int(today[:4]) + 1}{today[4:]}"
    with pytest.raises(grpc.RpcError) as info:
        water.Suspend(dpb.SuspendRequest(task_id=task.task_id, reason="等待司法裁决", until=too_late))
    assert field_violations(info.value)[0][0] == "until"
    until = (dt.date.fromisoformat(today) + dt.timedelta(days=30)).isoformat()
    suspended = water.Suspend(dpb.SuspendRequest(task_id=task.task_id, reason="等待司法裁决", until=until))
    assert suspended.status == dpb.SUSPENDED and suspended.deadline == ""
    assert _code(lambda: approve(water, task.task_id)) == grpc.StatusCode.FAILED_PRECONDITION
    assert _code(lambda: water.Resume(dpb.ResumeRequest(task_id=task.task_id, extension_days=10))) \
        == grpc.StatusCode.INVALID_ARGUMENT  # 30% of 30 days is 9
    resumed = water.Resume(dpb.ResumeRequest(task_id=task.task_id, extension_days=9))
    assert resumed.status == dpb.CLAIMED and resumed.extension_days == 9 and resumed.deadline

    for _ in range(3):
        more = system.intake.Submit(submission("TZ-002", "county-window-development-reform"), timeout=10).case_number
        tasks_of(water, more)
    pages, token = [], ""
    while True:
        reply = water.ListTasks(dpb.ListTasksRequest(page_size=2, page_token=token))
        pages.append([t.task_id for t in reply.tasks])
        token = reply.next_page_token
        if not token:
            break
    everything = [t.task_id for t in water.ListTasks(dpb.ListTasksRequest(page_size=500)).tasks]
    assert [i for page in pages for i in page] == everything and len(pages) > 1
    assert all(len(page) <= 2 for page in pages)
    claimed = water.ListTasks(dpb.ListTasksRequest(statuses=[dpb.CLAIMED])).tasks
    assert task.task_id in [t.task_id for t in claimed] and all(t.status == dpb.CLAIMED for t in claimed)


def test_every_case_that_ends_is_archived_not_accepted_and_withdrawn_too(system):
    """建档 covers every ending: a case not accepted is archived at once, a withdrawn one when withdrawn."""
    wrong_level = submission("TZ-002", "zhangqiao-liugang-room")  # a county investment item at a village room
    refused = system.intake.Submit(wrong_level, timeout=10)
    assert refused.status == ipb.NOT_ACCEPTED and refused.case_number
    assert system.intake.GetCase(ipb.GetCaseRequest(case_number=refused.case_number), timeout=10).archived

    request = submission("MZ-001", "county-desk")
    number = system.intake.Submit(request, timeout=10).case_number
    assert not system.intake.GetCase(ipb.GetCaseRequest(case_number=number), timeout=10).archived
    system.intake.Withdraw(ipb.WithdrawRequest(case_number=number, reason="不再办理",
                                               phone_last4=request.applicant.phone[-4:]), timeout=10)
    withdrawn = system.intake.GetCase(ipb.GetCaseRequest(case_number=number), timeout=10)
    assert withdrawn.status == "withdrawn" and withdrawn.archived


def test_a_consultation_is_recorded_once_and_counted_in_the_figures(system):
    """咨询: answered without a case, recorded once per request id, counted (咨询量, 接待人次)."""
    today = str(local_day(SystemTime().now()))
    period = spb.GetFiguresRequest(period=spb.Period(**{"from": today, "to": today}), group_by=spb.ITEM)
    office = system.supervision()

    def counts(item: str) -> dict:
        return dict(next((f.counts for f in office.GetFigures(period).figures if f.key == item), {}))

    before = counts("ZX-001")
    request = submission("ZX-001", "zhangqiao-desk")
    receipt = system.intake.Submit(request, timeout=10)
    assert receipt.status == ipb.CONSULTED and receipt.case_number == ""
    assert system.intake.Submit(request, timeout=10).status == ipb.CONSULTED  # the same request again
    assert system.sql("intake", "SELECT item_code, organisation, channel FROM consultations WHERE request_id = %s",
                      [request.request_id]) == [("ZX-001", "zhangqiao-desk", "window")]
    after = wait_until(lambda: (c := counts("ZX-001")).get("consulted", 0) > before.get("consulted", 0) and c,
                       what="the consultation in the figures")
    assert after["consulted"] == before.get("consulted", 0) + 1
    assert after["received"] == before.get("received", 0) + 1
