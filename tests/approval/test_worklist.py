"""The worklist's read of the desk API (ListTasks in NEAREST_DEADLINE order) and the lead department's
projects (ListProjects), on an in-process hall over the real PostgreSQL: the order and its keyset pages,
the filters, a signer's proposals, only open tasks, the sort keys of tasks written before they were kept."""
from __future__ import annotations

import datetime as dt

import grpc
import pytest
from onewindow.desk.v1 import desk_pb2 as dpb

from approval_svc import desk, store
from hall.calendar import WorkingCalendar
from hall.domain import TaskStatus
from tests.approval.test_desk import task as a_task
from tests.flow_steps import submission

CIVIL = "county-window-civil-affairs"
LAND = "county-window-land-resources"
REFORM = "county-window-development-reform"
HANDLER, REFORM_HANDLER = "SX0018", "SX0046"


def new_case(system, item: str, organisation: str, **form) -> str:
    request = submission(item, organisation)
    request.form.update(form)
    number = system.intake_as(organisation).Submit(request).case_number
    system.system.drain()
    return number


def handler_at(system, staff_number: str, organisation: str):
    """The desk API as the person at their handler post (they hold a clerk's post too)."""
    return system.as_person(system.desk_stub, staff_number, f"{organisation}/handler/1")


def everything(desk, **query) -> list[dpb.ListTasksReply]:
    pages, token = [], ""
    while True:
        reply = desk.ListTasks(dpb.ListTasksRequest(order=dpb.NEAREST_DEADLINE, page_token=token, **query))
        pages.append(reply)
        token = reply.next_page_token
        if not token:
            return pages


def code_of(call) -> grpc.StatusCode:
    try:
        call()
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


@pytest.fixture(scope="module")
def civil(system):
    """Four cases at the civil affairs window, limits of 10, 20 and 30 working days, one paused."""
    numbers = {item: new_case(system, item, CIVIL) for item in ("MZ-003", "MZ-001", "MZ-004")}
    numbers["paused"] = new_case(system, "MZ-004", CIVIL)
    handler = handler_at(system, HANDLER, CIVIL)
    handler.StartSpecialProcedure(dpb.StartSpecialProcedureRequest(
        task_id=f"{numbers['paused']}.1.civil_affairs", procedure=dpb.HEARING))
    return numbers, handler


def test_open_tasks_nearest_deadline_first_then_by_id_paused_last_in_keyset_pages(system, civil):
    numbers, handler = civil
    pages = everything(handler, mine=True, with_pool=True, page_size=2)
    tasks = [t for page in pages for t in page.tasks]
    ids = [t.task_id for t in tasks]
    assert len(ids) == len(set(ids)) == pages[0].total_size >= 4 and all(len(p.tasks) <= 2 for p in pages)
    assert [(t.deadline or "9999", t.task_id) for t in tasks] == sorted((t.deadline or "9999", t.task_id)
                                                                         for t in tasks)
    order = [t.case_number for t in tasks]
    assert order.index(numbers["MZ-004"]) < order.index(numbers["MZ-001"]) < order.index(numbers["MZ-003"])
    assert order[-1] == numbers["paused"] and not tasks[-1].deadline
    assert all(t.status not in (dpb.DECIDED, dpb.WITHDRAWN) for t in tasks)
    assert all(t.holder in ("", HANDLER) for t in tasks)


def test_filters_by_item_stage_and_state_and_total_counts_every_page(system, civil):
    numbers, handler = civil
    (item,) = everything(handler, mine=True, with_pool=True, item_code="MZ-001")
    assert numbers["MZ-001"] in [t.case_number for t in item.tasks]
    assert {t.item_code for t in item.tasks} == {"MZ-001"} and item.total_size == len(item.tasks)
    (paused,) = everything(handler, mine=True, statuses=[dpb.SPECIAL_PROCEDURE])
    assert [t.case_number for t in paused.tasks] == [numbers["paused"]]
    (none,) = everything(handler, mine=True, with_pool=True, stage=2)
    assert not none.tasks and none.total_size == 0


def test_a_decided_task_leaves_the_worklist(system, civil):
    number = new_case(system, "MZ-002", CIVIL)
    handler = handler_at(system, HANDLER, CIVIL)
    task_id = f"{number}.1.civil_affairs"
    assert task_id in [t.task_id for p in everything(handler, mine=True, item_code="MZ-002") for t in p.tasks]
    handler.Decide(dpb.DecideRequest(task_id=task_id, decision=dpb.APPROVE, opinion="符合条件", legal_basis="条例"))
    assert task_id not in [t.task_id for p in everything(handler, mine=True, item_code="MZ-002") for t in p.tasks]
    assert system.sql("approval", "SELECT due_on FROM tasks WHERE id = %s", [task_id]) == [(None,)]


def test_a_signer_sees_the_proposals_waiting_for_their_post_only(system):
    number = new_case(system, "GT-002", LAND, property_location="示范县城关镇和平路8号")
    task_id = f"{number}.1.land_resources"
    handler_at(system, "SX0034", LAND).Decide(dpb.DecideRequest(
        task_id=task_id, decision=dpb.APPROVE, opinion="材料齐全", legal_basis="《不动产登记暂行条例》"))
    approver, checker = (system.as_person(system.desk_stub, s) for s in ("SX0035", "SX0036"))

    def waiting(desk):
        return [t.task_id for p in everything(desk, awaiting_my_post=True) for t in p.tasks]

    assert task_id in waiting(approver) and task_id not in waiting(checker)
    approver.SignOff(dpb.SignOffRequest(task_id=task_id, agree=True))
    assert task_id not in waiting(approver) and task_id in waiting(checker)


def test_bad_worklist_requests_name_their_field_and_systems_keep_their_order(system, civil):
    numbers, handler = civil
    for request, field in ((dpb.ListTasksRequest(order=dpb.NEAREST_DEADLINE, page_token="not-a-token"), "page_token"),
                           (dpb.ListTasksRequest(order=dpb.NEAREST_DEADLINE, with_pool=True), "with_pool"),
                           (dpb.ListTasksRequest(order=dpb.NEAREST_DEADLINE, awaiting_my_post=True),
                            "awaiting_my_post"),
                           (dpb.ListTasksRequest(item_code="MZ-001"), "item_code")):
        with pytest.raises(grpc.RpcError) as refused:
            handler.ListTasks(request)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in refused.value.details()
    written = [t.case_number for t in system.desk("civil_affairs").ListTasks(dpb.ListTasksRequest(
        page_size=500)).tasks]
    mine = [numbers[k] for k in ("MZ-003", "MZ-001", "MZ-004", "paused")]
    assert [n for n in written if n in mine] == mine  # the order they were written in


def test_sort_keys_of_tasks_written_before_they_were_kept_are_filled(system, civil):
    numbers, handler = civil
    system.sql("approval", "UPDATE tasks SET due_on = NULL WHERE case_number = ANY(%s)", [list(numbers.values())])
    approval = system.system.services["approval"]
    assert approval.use_cases.fill_due(approval.unit_of_work) >= 4
    keys = dict(system.sql("approval", "SELECT case_number, due_on FROM tasks WHERE case_number = ANY(%s)",
                           [list(numbers.values())]))
    assert keys[numbers["paused"]] == store.PAUSED and keys[numbers["MZ-004"]] < keys[numbers["MZ-001"]]


def test_the_sort_key_is_the_deadline_paused_last_none_once_closed():
    cal = WorkingCalendar()
    open_task = a_task()
    assert store.due_on(open_task, cal) == open_task.clock.deadline(cal)
    paused = desk.start_special_procedure(open_task, dt.date(2026, 2, 3), "hearing")
    assert store.due_on(paused, cal) == store.PAUSED
    assert store.due_on(a_task(status=TaskStatus.DECIDED), cal) is None


def test_the_lead_department_follows_its_projects_with_the_stage_and_its_departments(system):
    numbers = sorted(new_case(system, "TZ-002", REFORM) for _ in range(2))
    lead = handler_at(system, REFORM_HANDLER, REFORM)
    first = lead.ListProjects(dpb.ListProjectsRequest(page_size=1))
    second = lead.ListProjects(dpb.ListProjectsRequest(page_size=100, page_token=first.next_page_token))
    projects = {p.case_number: p for p in [*first.projects, *second.projects]}
    assert len(first.projects) == 1 and set(numbers) <= set(projects)
    project = projects[numbers[0]]
    assert (project.item_code, project.status, project.current_stage, project.stages, project.limit_days) == \
        ("TZ-002", "in_handling", 1, 1, 30)
    assert project.stage_name == "立项用地规划许可" and project.used_days == 0
    assert {t.department for t in project.tasks} == {"development_reform", "land_resources", "planning_office",
                                                     "water", "commerce"}
    civil = handler_at(system, HANDLER, CIVIL)
    assert not civil.ListProjects(dpb.ListProjectsRequest()).projects  # it leads no parallel approval
    assert code_of(lambda: lead.ListProjects(dpb.ListProjectsRequest(page_size=101))) == \
        grpc.StatusCode.INVALID_ARGUMENT
