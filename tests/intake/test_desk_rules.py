"""The acceptance desk's rules (受理台) against the sample county, without storage: the item's form
fields, the clerk's own answer (不予受理 with reasons, or a consultation), the fee (一次性收费) and
which cases a desk lists."""
import datetime as dt
from decimal import Decimal

import pytest

from hall.domain import CaseStatus
from intake_svc import fees, window
from intake_svc.acceptance import ASKED_ONLY, ClerkChoice, examine, validate
from services.access import Caller, Role
from services.errors import Forbidden, InvalidRequest, NotAllowedNow
from services.timesource import CHINA
from tests.intake.test_acceptance import REF, TODAY, app

MARRIAGE = {"registration_type": "初婚", "man_name": "王小明", "woman_name": "李小红"}


def violations(application, choice=ClerkChoice()) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRequest) as info:
        validate(application, REF.catalogue, REF.org, choice)
    return info.value.violations


def answer(application, choice=ClerkChoice()):
    item = validate(application, REF.catalogue, REF.org, choice)
    return examine(application, item, REF.org, REF.calendar, TODAY, 5, choice)


# --- the form --------------------------------------------------------------------------------------


def test_an_application_fills_in_the_items_required_fields():
    assert answer(app("MZ-006", "county-window-civil-affairs", form=MARRIAGE)).status == CaseStatus.ACCEPTED
    empty = {**MARRIAGE, "woman_name": "  "}
    assert violations(app("MZ-006", "county-window-civil-affairs", form=empty)) == [("form.woman_name", "required")]
    assert violations(app("MZ-006", "county-window-civil-affairs", form={})) == [
        ("form.registration_type", "required"), ("form.man_name", "required"), ("form.woman_name", "required")]
    # optional fields may stay out; an item with no form takes none
    assert answer(app("TZ-002", "county-window-development-reform", form={"project_name": "光伏电站"})).accepted
    assert answer(app("MZ-001", "county-desk")).accepted


def test_a_value_over_its_length_and_a_key_the_item_lacks_are_field_errors():
    form = {**MARRIAGE, "registration_type": "初" * 21, "colour": "red"}
    assert violations(app("MZ-006", "county-window-civil-affairs", form=form)) == [
        ("form.colour", "item MZ-006 has no field 'colour'"),
        ("form.registration_type", "at most 20 characters")]
    assert violations(app("MZ-001", "county-desk", form={"notes": "x"})) == [
        ("form.notes", "item MZ-001 has no field 'notes'")]


def test_a_refusal_or_a_consultation_needs_no_complete_form_but_a_well_formed_one():
    refused = answer(app("MZ-006", "county-window-civil-affairs", form={}), ClerkChoice(("材料系伪造",)))
    assert refused.status == CaseStatus.NOT_ACCEPTED
    asked = answer(app("MZ-006", "county-window-civil-affairs"), ClerkChoice(consultation=True))
    assert asked.status is None and asked.reasons == (ASKED_ONLY,)
    assert violations(app("MZ-006", "county-window-civil-affairs", form={"colour": "red"}),
                      ClerkChoice(consultation=True)) == [("form.colour", "item MZ-006 has no field 'colour'")]


# --- the clerk's own answer -----------------------------------------------------------------------


def test_the_clerks_reasons_come_first_then_the_rules_and_the_materials_do_not_matter():
    refused = answer(app("MZ-001", "county-desk", missing=("id_card", "application")),
                     ClerkChoice(("申请人不符合低保条件", "家庭收入超过标准")))
    assert refused.status == CaseStatus.NOT_ACCEPTED and refused.kind == "returned"
    assert refused.reasons == ("申请人不符合低保条件", "家庭收入超过标准") and not refused.notice
    both = answer(app("MZ-005", "county-desk"), ClerkChoice(("证件过期",)))  # decided at the township
    assert both.reasons[0] == "证件过期" and "乡镇" in both.reasons[1] and len(both.reasons) == 2


def test_an_application_the_rules_would_refuse_is_still_only_a_consultation_when_the_applicant_asked():
    asked = answer(app("MZ-005", "county-desk", missing=("photo",)), ClerkChoice(consultation=True))
    assert asked.status is None and asked.kind == "promised"


@pytest.mark.parametrize("choice, item, expected", [
    (ClerkChoice(("不符合条件",), consultation=True), "MZ-001", [("consultation", "a consultation refuses nothing: "
                                                                  "give refusal_reasons or consultation, not both")]),
    (ClerkChoice(("", "  ", "x" * 501, "x" * 500)), "MZ-001", [
        ("refusal_reasons[0]", "required"), ("refusal_reasons[1]", "required"),
        ("refusal_reasons[2]", "at most 500 characters")]),
    (ClerkChoice(("不符合条件",) * 11), "MZ-001", [("refusal_reasons", "at most 10 reasons")]),
    (ClerkChoice(("不符合条件",)), "ZX-001", [("refusal_reasons", "item ZX-001 is a consultation item (咨询服务): "
                                                            "nothing to refuse")]),
])
def test_a_clerks_answer_that_does_not_hold_together_is_a_field_error(choice, item, expected):
    assert violations(app(item, "zhangqiao-desk"), choice) == expected


# --- the fee --------------------------------------------------------------------------------------


def case(status="accepted", **fee) -> dict:
    recorded = {"fee_request_id": None, "fee_collected_fen": None, "fee_receipt_number": None,
                "fee_reduction_reason": None}
    return {"case_number": "202602100000001", "status": status, **recorded, **fee}


ID_CARD = REF.catalogue.item("GA-001")  # 20 yuan


def pay(amount="20", reason="", receipt="NO.0001", request_id="r-1") -> fees.FeePayment:
    return fees.payment(request_id, "202602100000001", amount, receipt, reason)


def test_amounts_are_read_as_yuan_and_kept_in_fen():
    assert [pay(a).amount_fen for a in ("20", "12.50", "0.01", "12.5")] == [2000, 1250, 1, 1250]
    assert [fees.yuan(f) for f in (2000, 1250, 1, 8000)] == ["20", "12.50", "0.01", "80"]
    assert fees.fen_of(Decimal("80.00")) == 8000


@pytest.mark.parametrize("fields, expected", [
    (dict(amount="0"), [("amount_yuan", "more than 0")]),
    (dict(amount="-5"), [("amount_yuan", "an amount in yuan such as 20 or 12.50")]),
    (dict(amount="12.345"), [("amount_yuan", "an amount in yuan such as 20 or 12.50")]),
    (dict(amount="二十"), [("amount_yuan", "an amount in yuan such as 20 or 12.50")]),
    (dict(amount="", receipt="", request_id=""), [("request_id", "required"), ("amount_yuan", "an amount in yuan "
                                                   "such as 20 or 12.50"), ("receipt_number", "required")]),
    (dict(receipt="N" * 65, reason="x" * 501), [("receipt_number", "at most 64 characters"),
                                                 ("reduction_reason", "at most 500 characters")]),
])
def test_a_fee_request_without_what_it_needs_is_a_field_error(fields, expected):
    with pytest.raises(InvalidRequest) as info:
        pay(**fields)
    assert info.value.violations == expected


def test_the_whole_fee_or_less_with_a_reason_on_an_accepted_case():
    assert fees.collect(pay("20"), ID_CARD, case()) is True
    assert fees.collect(pay("10", "低保户减半收取"), ID_CARD, case("in_handling")) is True
    assert fees.collect(pay("20"), ID_CARD, case("concluded")) is True  # at handing over the result (出证)
    for bad, expected in [(pay("20.01"), [("amount_yuan", "at most the item's fee, 20 yuan")]),
                          (pay("10"), [("reduction_reason", "required: less than the item's fee of 20 yuan (减免)")]),
                          (pay("20", "减免"), [("reduction_reason", "only a reduced fee has a reduction reason")])]:
        with pytest.raises(InvalidRequest) as info:
            fees.collect(bad, ID_CARD, case())
        assert info.value.violations == expected


@pytest.mark.parametrize("item, row, message", [
    ("MZ-001", case(), "this item is free"),
    ("GA-001", case("supplement_required"), "a fee is collected on an accepted case"),
    ("GA-001", case("not_accepted"), "a fee is collected on an accepted case"),
    ("GA-001", case("withdrawn"), "a fee is collected on an accepted case"),
    ("GA-001", case(fee_request_id="r-0", fee_collected_fen=2000, fee_receipt_number="NO.0000"),
     "already collected (一次性收费), receipt NO.0000"),
])
def test_a_fee_the_case_cannot_take_is_refused_as_its_state(item, row, message):
    with pytest.raises(NotAllowedNow, match=message.replace("(", r"\(").replace(")", r"\)")):
        fees.collect(pay(), REF.catalogue.item(item), row)


def test_the_same_fee_request_again_records_nothing_and_another_under_its_id_is_refused():
    recorded = case(fee_request_id="r-1", fee_collected_fen=2000, fee_receipt_number="NO.0001")
    assert fees.collect(pay(), ID_CARD, recorded) is False
    with pytest.raises(InvalidRequest) as info:
        fees.collect(pay(receipt="NO.0002"), ID_CARD, recorded)
    assert info.value.violations == [("request_id", "already used for a different fee")]


# --- the desk's list ------------------------------------------------------------------------------

CLERK = Caller(Role.CLERK, "county-desk", "county-desk", person="SX0008")
AGENT = Caller(Role.AGENT, "agent-zhangqiao-liugang", "zhangqiao-liugang-room")


def test_a_clerk_lists_its_organisations_cases_and_an_agent_its_own():
    query = window.case_query(CLERK, "2026-02-10", True, 0, "")
    assert (query.organisation, query.agent, query.day, query.waiting, query.size, query.after) == \
        ("county-desk", None, dt.date(2026, 2, 10), True, 20, None)
    assert query.day_bounds() == (dt.datetime(2026, 2, 10, tzinfo=CHINA), dt.datetime(2026, 2, 11, tzinfo=CHINA))
    agent = window.case_query(AGENT, "", False, 100, "")
    assert (agent.organisation, agent.agent, agent.day, agent.size) == \
        ("zhangqiao-liugang-room", "agent-zhangqiao-liugang", None, 100)
    for role in (Role.SUPERVISOR, Role.MANAGER, Role.LEADER, Role.DEPARTMENT):
        with pytest.raises(Forbidden):
            window.case_query(Caller(role, "x", "county-centre"), "", False, 0, "")


def test_a_page_token_is_the_last_row_shown():
    at = dt.datetime(2026, 2, 10, 9, 30, 1, 123, tzinfo=CHINA)
    token = window.page_token(at, "202602100000042")
    assert window.case_query(CLERK, "", False, 0, token).after == (at, "202602100000042")


@pytest.mark.parametrize("accepted_on, size, token, fields", [
    ("2026-2-10", 0, "", ["accepted_on"]), ("2026-02-30", 0, "", ["accepted_on"]),
    ("20260210", 0, "", ["accepted_on"]), ("9999-12-31", 0, "", ["accepted_on"]),
    ("", 101, "", ["page_size"]), ("", -1, "", ["page_size"]),
    ("", 0, "not a token", ["page_token"]), ("", 0, window.page_token(dt.datetime(2026, 2, 10), "1"), ["page_token"]),
    ("", 0, window.page_token(dt.datetime(2026, 2, 10, tzinfo=CHINA), "1\x00"), ["page_token"]),
    ("yesterday", 500, "abc", ["accepted_on", "page_size", "page_token"]),
])
def test_bad_days_sizes_and_tokens_are_field_errors(accepted_on, size, token, fields):
    with pytest.raises(InvalidRequest) as info:
        window.case_query(CLERK, accepted_on, False, size, token)
    assert [f for f, _ in info.value.violations] == fields


def test_what_a_case_still_owes_whatever_asked_for_it():
    base = {"item_code": "MZ-003", "promised_materials": [], "pending_supplement": None,
            "receipt": {"one_time_notice": []}}
    notice = {**base, "status": "supplement_required", "receipt": {"one_time_notice": [
        {"material_code": "village_opinion", "material_name": "x", "problem": "missing"}]}}
    assert window.owed(notice, REF.catalogue) == [("village_opinion", "村民委员会民主评议意见", "one_time_notice")]
    promised = {**base, "status": "in_handling", "promised_materials": ["disability_cert"]}
    assert window.owed(promised, REF.catalogue) == [("disability_cert", "残疾人证（如有）", "commitment")]
    asked = {**promised, "status": "waiting_supplement", "pending_supplement": {"task_id": "t", "department": "d",
                                                                                 "materials": ["id_card"]}}
    assert window.owed(asked, REF.catalogue) == [("disability_cert", "残疾人证（如有）", "commitment"),
                                                 ("id_card", "居民身份证", "department")]
    assert window.owed({**promised, "status": "concluded"}, REF.catalogue) == []
