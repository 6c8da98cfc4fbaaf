"""Acceptance rules (受理) against the sample county: outcomes, the one-time notice, 容缺, refusals."""
import datetime as dt

import pytest
from stdnum.cn import ric

from hall.domain import Applicant, Application, CaseStatus, Channel, Level, ProvidedMaterial
from hall.reference import load_reference
from intake_svc.acceptance import examine, project_code_problem, validate, with_check_digit
from intake_svc.history import GENESIS, Entry, new_entry, verify
from services.errors import InvalidRequest
from tooling.settings import SystemSettings

REF = load_reference(SystemSettings())
TODAY = dt.date(2026, 2, 10)
ID = "34052119900101123" + ric.calc_check_digit("34052119900101123" + "0")


def app(item_code: str, organisation: str, missing=(), defects=None, **kw) -> Application:
    item = REF.catalogue.item(item_code)
    materials = tuple(ProvidedMaterial(m.code, (defects or {}).get(m.code)) for m in item.materials
                      if m.code not in missing)
    fields = dict(item_code=item_code, applicant=Applicant("王小明", ID, "13900001234"), channel=Channel.WINDOW,
                  organisation=organisation, first_clerk="clerk-01", materials=materials, request_id="r-1",
                  project_code=with_check_digit("2026-340521-65-03-00015") if item.requires_project_code else None)
    return Application(**{**fields, **kw})


def answer(application: Application):
    item = validate(application, REF.catalogue, REF.org)
    return examine(application, item, REF.org, REF.calendar, TODAY, commitment_days=5)


def test_a_complete_application_is_accepted_with_its_promised_deadline():
    outcome = answer(app("MZ-001", "county-desk"))
    assert outcome.status == CaseStatus.ACCEPTED and outcome.kind == "promised" and outcome.level == Level.COUNTY
    assert outcome.promised_deadline == REF.calendar.add(TODAY, 20) == dt.date(2026, 3, 16)  # across the festival


def test_the_one_time_notice_lists_every_missing_and_defective_material_at_once():
    outcome = answer(app("MZ-003", "county-desk", missing=("village_opinion", "disability_cert"),
                         defects={"id_card": "复印件不清晰"}))
    assert outcome.status == CaseStatus.SUPPLEMENT_REQUIRED
    assert {(n.material_code, n.problem) for n in outcome.notice} == {
        ("village_opinion", "missing"), ("disability_cert", "missing"), ("id_card", "复印件不清晰")}


def test_missing_secondary_material_with_a_commitment_is_accepted_and_tracked():
    outcome = answer(app("MZ-003", "county-desk", missing=("disability_cert",), commitment_signed=True))
    assert outcome.status == CaseStatus.ACCEPTED_WITH_COMMITMENT
    assert outcome.promised_materials == ("disability_cert",)
    assert outcome.commitment_deadline == REF.calendar.add(TODAY, 5) <= outcome.promised_deadline
    without = answer(app("MZ-003", "county-desk", missing=("disability_cert",)))
    assert without.status == CaseStatus.SUPPLEMENT_REQUIRED


def test_the_commitment_never_runs_beyond_the_promised_limit():
    outcome = answer(app("MZ-005", "zhangqiao-desk", missing=(), commitment_signed=True))
    assert outcome.status == CaseStatus.ACCEPTED  # nothing missing: no commitment needed
    item = REF.catalogue.item("WJ-003")
    secondary = [m.code for m in item.materials if m.kind.value == "secondary"]
    promised = answer(app("WJ-003", "zhangqiao-desk", missing=tuple(secondary), commitment_signed=True))
    assert promised.commitment_deadline == promised.promised_deadline == TODAY  # 即办件: 0 days


@pytest.mark.parametrize("application, reason", [
    (app("TZ-001", "zhangqiao-desk"), "县政务服务中心"),  # accepted from the county up
    (app("TZ-001", "county-window-development-reform", project_code=None), "项目代码"),
    (app("TZ-001", "county-window-development-reform", project_code="2026-340521-65-03-000150"), "check digit"),
    (app("MZ-001", "county-window-land-resources"), "其他部门"),
    (app("MZ-005", "county-desk"), "乡镇"),  # decided at the township: apply there
    (app("GA-002", "zhangqiao-liugang-room", channel=Channel.PROXY_AGENT, agent="agent-zhangqiao-liugang",
         consent_ref="WT-1"), "本人到场"),
])
def test_applications_that_cannot_be_accepted_get_reasons(application, reason):
    outcome = answer(application)
    assert outcome.status == CaseStatus.NOT_ACCEPTED and outcome.kind == "returned"
    assert any(reason in r for r in outcome.reasons), outcome.reasons


def test_consultation_items_are_answered_not_accepted():
    outcome = answer(app("ZX-001", "zhangqiao-desk"))
    assert outcome.status is None and outcome.reasons


def test_bad_requests_name_every_field():
    bad = app("MZ-001", "county-office-water", applicant=Applicant("", "1234", "12"), request_id="",
              channel=Channel.PROXY_AGENT, materials=(ProvidedMaterial("nope"), ProvidedMaterial("nope")))
    with pytest.raises(InvalidRequest) as info:
        answer(bad)
    fields = {f for f, _ in info.value.violations}
    assert fields == {"request_id", "organisation", "applicant.name", "applicant.id_number", "applicant.phone",
                      "agent", "consent_ref", "materials[0].code", "materials[1].code"}


def test_a_phone_number_is_ascii_digits():
    """Fullwidth or Arabic-Indic digits passed as a phone number: Python's \\d takes them."""
    for phone in ("１３９１２３４５６７８", "١٣٩١٢٣٤٥٦٧٨"):
        with pytest.raises(InvalidRequest) as info:
            answer(app("MZ-001", "county-desk", applicant=Applicant("王小明", ID, phone)))
        assert [f for f, _ in info.value.violations] == ["applicant.phone"]


@pytest.mark.parametrize("code, ok", [
    (with_check_digit("2026-340521-65-03-00015"), True),
    (with_check_digit("2019-110105-47-01-12345"), True),
    ("2026-340521-65-03-00015", False),  # 23 characters
    (with_check_digit("2013-340521-65-03-00015"), False),  # before codes were issued
    (with_check_digit("2026-990521-65-03-00015"), False),  # no such province
    (with_check_digit("2027-340521-65-03-00015"), False),  # a future year
    ("2026/340521/65/03/000154", False),
    (None, False),
    # other scripts' digits: a regex's \d took them, and stdnum's check digit too
    (with_check_digit("2026-340521-65-03-00015").translate(str.maketrans("0123456789", "０１２３４５６７８９")), False),
])
def test_project_codes_have_the_national_structure(code, ok):
    assert (project_code_problem(code, TODAY) is None) == ok


def test_the_history_chain_finds_edits_removals_and_a_cut_tail():
    entries, head = [], GENESIS
    for seq in range(1, 5):
        entry = new_entry("C1", seq, head, f"2026-02-10T09:0{seq}:00+08:00", "step", "clerk", {"n": seq})
        entries.append(entry)
        head = entry.hash
    assert verify("C1", entries, 4, head) == []
    edited = entries[:1] + [Entry(2, entries[1].body.replace('"n":2', '"n":9'), entries[1].prev_hash,
                                  entries[1].hash)] + entries[2:]
    assert "entry 2: content does not match its hash (edited)" in verify("C1", edited, 4, head)
    assert verify("C1", entries[:1] + entries[2:], 4, head) == ["entry 2 is missing (found 3)"]
    assert verify("C1", entries[:3], 4, head)  # the last entry removed: the case row disagrees
    assert verify("C2", entries, 4, head)  # moved to another case


def test_an_identity_number_is_refused_with_what_is_wrong_with_it():
    from intake_svc.acceptance import id_number_problem
    before_county = "34052119800101123"  # 当涂县 (340521) exists from 1983
    assert "region code" in id_number_problem(before_county + ric.calc_check_digit(before_county + "0"))
    wrong_digit = "0" if ID[-1] != "0" else "1"
    assert "check digit" in id_number_problem(ID[:-1] + wrong_digit)
    assert id_number_problem(ID) is None
