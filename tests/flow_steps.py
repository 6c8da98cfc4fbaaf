"""Requests and waits shared by the case-flow tests."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

from onewindow.desk.v1 import desk_pb2 as dpb
from onewindow.intake.v1 import intake_pb2 as ipb
from stdnum.cn import ric

from hall.reference import load_reference
from intake_svc.acceptance import with_check_digit
from tests.clients import Desk, Running
from tests.support import wait_until
from tooling.settings import SystemSettings

CATALOGUE = load_reference(SystemSettings()).catalogue


def id_number(serial: int) -> str:
    """A valid identity number; the serial picks the birth date (1983-2002, the region code 340521
    exists from 1983) and the sequence, so that the cases of one test module do not share an applicant
    by chance."""
    born = date(1983, 1, 1) + timedelta(days=serial // 1000 % 7300)
    first = f"340521{born:%Y%m%d}{serial % 1000:03d}"
    return first + ric.calc_check_digit(first + "0")


def submission(item_code: str, organisation: str, *, missing: tuple[str, ...] = (), **fields) -> ipb.SubmitRequest:
    """A complete application (every material of the item, a valid applicant) unless told otherwise."""
    item = CATALOGUE.item(item_code)
    serial = uuid.uuid4().int
    request = ipb.SubmitRequest(
        request_id=uuid.uuid4().hex, item_code=item_code, channel=ipb.WINDOW, organisation=organisation,
        first_clerk="clerk-01", applicant=ipb.Applicant(name="王小明", id_number=id_number(serial),
                                                        phone=f"139{serial % 10**8:08d}"),
        materials=[ipb.ProvidedMaterial(code=m.code) for m in item.materials if m.code not in missing],
        project_code=with_check_digit("2026-340521-65-03-00015") if item.requires_project_code else "")
    for name, value in fields.items():
        setattr(request, name, value)
    return request


def tasks_of(desk: Desk, case_number: str, count: int = 1, status=None) -> list:
    """Wait until the department sees `count` tasks of the case (optionally in a status)."""
    def ready():
        tasks = desk.ListTasks(dpb.ListTasksRequest(case_number=case_number)).tasks
        tasks = [t for t in tasks if status is None or t.status == status]
        return tasks if len(tasks) >= count else None
    return wait_until(ready, timeout=20, what=f"{count} task(s) of {case_number}")


def case_status(running: Running, case_number: str, status: str):
    def reached():
        case = running.intake.GetCase(ipb.GetCaseRequest(case_number=case_number), timeout=10)
        return case if case.status == status else None
    return wait_until(reached, timeout=20, what=f"case {case_number} {status}")


def approve(desk: Desk, task_id: str):
    return desk.Decide(dpb.DecideRequest(task_id=task_id, decision=dpb.APPROVE, opinion="符合条件，同意",
                                         legal_basis="《中华人民共和国行政许可法》第三十八条"))


def stage_task(desk: Desk, case_number: str, stage: int):
    """Wait for the department's own (not co-handling) task in a stage of the case."""
    def ready():
        tasks = desk.ListTasks(dpb.ListTasksRequest(case_number=case_number)).tasks
        return next((t for t in tasks if t.stage == stage and t.role != dpb.CO_HANDLING), None)
    return wait_until(ready, timeout=20, what=f"stage {stage} task of {case_number}")


def concluded_case(system, item: str = "MZ-001", department: str = "civil_affairs") -> str:
    """A case of one task, approved, and seen concluded by intake and by supervision."""
    receipt = system.intake.Submit(submission(item, "county-desk"), timeout=10)
    desk = system.desk(department)
    (task,) = tasks_of(desk, receipt.case_number)
    approve(desk, task.task_id)
    case_status(system, receipt.case_number, "concluded")
    wait_until(lambda: system.sql("supervision", "SELECT 1 FROM cases WHERE case_number = %s AND "
                                                 "concluded_on IS NOT NULL", [receipt.case_number]),
               what="supervision to see the conclusion")
    return receipt.case_number
