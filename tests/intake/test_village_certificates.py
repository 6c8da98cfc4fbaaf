"""What the village settles itself (issue 19, part 10), below the transport: the village committee's
certificates and opinions (村委会证明、意见) are items of the catalogue decided at the village room; an
application at the township cites such a certificate by its case number for the material it stands for,
and intake checks it (concluded, issued, of the right item, for the same applicant) on the real
PostgreSQL; the material counts as received. Every other item stays accept-only at the village."""
from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from approval_svc.access import task_scope
from approval_svc.assignment import assign
from hall.catalogue import Item
from hall.domain import VILLAGE_COMMITTEE, Applicant, Level, ProvidedMaterial
from hall.staff import load_staff
from routing_svc.plan import route
from services.access import Caller, Role
from services.errors import InvalidRequest
from tests.hall.test_catalogue import item_errors
from tests.intake import test_desk
from tests.intake.test_agent_ledger import conclude
from tests.intake.test_desk import REF, ROOM, TODAY, TOWNSHIP, application
from tooling.settings import SystemSettings

desk = test_desk.desk  # the fixture


@pytest.fixture(scope="module")
def org():
    return REF.org


def certificate(desk, item_code: str = "CW-001", result: str | None = "issued", **fields) -> tuple[str, Applicant]:
    """A village committee's certificate accepted at the room and, unless `result` is None, concluded."""
    app = application(item_code, "zhangqiao-liugang-room", form={"matter": "婚育情况", "purpose": "办理婚育证明"},
                      **fields)
    number = desk.submit(app, ROOM)["case_number"]
    if result:
        conclude(desk, number, result)
    return number, app.applicant


def read(desk, number: str) -> dict:
    with desk.uow() as work:
        return desk.intake.read(work, TOWNSHIP, number)


def citing(number: str, applicant: Applicant, item_code: str = "WJ-003", material: str = "village_letter"):
    """An application at the township desk citing `number` for `material`, every other material brought."""
    app = application(item_code, "zhangqiao-desk", missing=(material,))
    return dataclasses.replace(app, applicant=applicant,
                               materials=(*app.materials, ProvidedMaterial(material, certificate=number)))


def test_the_village_committee_decides_its_own_matters_at_the_room_and_nothing_else():
    chart, item = REF.org, REF.catalogue.item("CW-001")
    assert (item.department, item.decided_at) == (VILLAGE_COMMITTEE, Level.VILLAGE)
    plan = route(chart, item, "zhangqiao-liugang-room", TODAY, REF.calendar, 1)
    assert plan["transfers"] == []  # settled where it was accepted
    assert plan["stages"][0]["tasks"] == [{"department": VILLAGE_COMMITTEE, "organisation": "zhangqiao-liugang-room"}]
    # every other item the room accepts goes up (只受理，不办理)
    others = [i for i in REF.catalogue.items if i.lowest_level == Level.VILLAGE and i.department != VILLAGE_COMMITTEE]
    assert others and all(i.decided_at != Level.VILLAGE for i in others)
    with pytest.raises(ValidationError, match="village rooms accept only"):
        Item(**{**REF.catalogue.item("MZ-001").model_dump(), "decided_at": "village"})
    with pytest.raises(ValidationError, match="village rooms accept only"):
        Item(**{**item.model_dump(), "decided_at": "township"})
    # the room's cadres (its acceptance clerks) hold its committee's tasks, and only they, only there
    staff = load_staff(SystemSettings().staff, chart)
    assert assign(staff, "zhangqiao-liugang-room", set()).holder == "SX0118"
    assert assign(staff, "zhangqiao-liugang-room", {"SX0118"}).holder == "SX0119"
    assert task_scope(ROOM) == (VILLAGE_COMMITTEE, "zhangqiao-liugang-room")
    assert task_scope(Caller(Role.CLERK, "county-desk", "county-desk")) == (VILLAGE_COMMITTEE, "county-desk")


def test_a_material_names_a_village_committee_item_as_its_certificate(tmp_path, org):
    def edit(d):
        item = next(i for i in d["items"] if i["code"] == "WJ-003")
        next(m for m in item["materials"] if m["code"] == "village_letter")["certificate"] = "MZ-001"

    _, message = item_errors(tmp_path, org, edit)
    assert "certificate: 'MZ-001' is not a village committee's item" in message


def test_a_township_case_cites_an_issued_certificate_and_the_material_counts_as_received(desk):
    number, applicant = certificate(desk)
    receipt = desk.submit(citing(number, applicant), TOWNSHIP)
    assert receipt["status"] == "accepted" and receipt["one_time_notice"] == []
    case = read(desk, receipt["case_number"])
    assert case["application"]["certificates"] == {"village_letter": number}
    assert ("village_letter", None) in case["materials"]
    assert case["history"][0].data["detail"]["certificates"] == {"village_letter": number}
    # a secondary material of MZ-002 too (村民委员会民主评议意见), by an opinion (CW-002)
    opinion, applicant = certificate(desk, "CW-002")
    receipt = desk.submit(citing(opinion, applicant, "MZ-002", "village_opinion"), TOWNSHIP)
    assert receipt["status"] == "accepted"


def test_a_certificate_that_cannot_stand_for_the_material_is_a_field_error_and_nothing_is_written(desk):
    issued, applicant = certificate(desk)
    pending, _ = certificate(desk, result=None, applicant=applicant)
    refused, _ = certificate(desk, result="rejected", applicant=applicant)
    opinion, _ = certificate(desk, "CW-002", applicant=applicant)
    other, _ = certificate(desk)  # another applicant's
    before = desk.written()
    for number, why in [(pending, "has not been issued (it is accepted)"), (refused, "(it is rejected)"),
                        (opinion, "is a CW-002, not the CW-001"), (other, "of this applicant"),
                        ("202602100000000", "of this applicant")]:
        with pytest.raises(InvalidRequest) as info:
            desk.submit(citing(number, applicant), TOWNSHIP)
        ((field, reason),) = info.value.violations
        assert field.endswith(".certificate") and why in reason, reason
    app = citing(issued, applicant)
    with pytest.raises(InvalidRequest) as info:  # only where the catalogue lets one stand, and never defective
        desk.submit(dataclasses.replace(app, materials=(
            ProvidedMaterial("id_card", certificate=issued), ProvidedMaterial("village_letter", "不清楚", issued))),
            TOWNSHIP)
    assert sorted(f for f, _ in info.value.violations) == ["materials[0].certificate", "materials[1].defect"]
    assert desk.written() == before


def test_a_certificate_brought_after_a_one_time_notice_is_supplied_by_its_number(desk):
    number, applicant = certificate(desk)
    app = application("WJ-003", "zhangqiao-desk", missing=("village_letter",))
    app = dataclasses.replace(app, applicant=applicant)
    waiting = desk.submit(app, TOWNSHIP)
    assert waiting["status"] == "supplement_required"
    with desk.uow() as work:
        receipt = desk.intake.supply_materials(work, TOWNSHIP, waiting["case_number"],
                                               [ProvidedMaterial("village_letter", certificate=number)], "")
    assert receipt["status"] == "accepted"
    case = read(desk, waiting["case_number"])
    assert case["application"]["certificates"] == {"village_letter": number}
    supplied = next(e.data for e in case["history"] if e.data["kind"] == "materials_supplied")
    assert supplied["detail"]["certificates"] == {"village_letter": number}
