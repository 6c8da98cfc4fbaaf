"""Which notices each event calls for, and their text: masked, in Chinese, from one template each."""
import datetime as dt
import uuid

from hall.reference import load_reference
from notify_svc import notices
from notify_svc.channels import signature
from notify_svc.notices import APPLICANT, DEPARTMENT, TEMPLATES, render
from notify_svc.service import HANDLERS
from services.contracts import Envelope
from tooling.settings import SystemSettings

REFERENCE = load_reference(SystemSettings())
CATALOGUE = REFERENCE.catalogue
CONTACT = {"name": "王小明", "phone": "13912345678", "email": "w@example.cn"}


def plan(envelope: Envelope, catalogue, contact, item_code=None, organisation=""):
    """The notices notify's handler table plans for the event."""
    (handler,) = [h for h in HANDLERS if h.event == envelope.type]
    return notices.plan(envelope, handler.handle.planner, catalogue, REFERENCE.org, contact, item_code, organisation)


def event(kind: str, payload: dict) -> Envelope:
    return Envelope(id=uuid.uuid4(), type=kind, version=1, occurred_at=dt.datetime(2026, 2, 10, 9, tzinfo=dt.timezone.utc),
                    source="x", case_number="202602100000001", payload=payload)


def test_every_notice_has_a_template_with_a_subject_line():
    names = {p.stem for p in TEMPLATES.glob("*.txt") if not p.stem.startswith("_")}  # `_`: a part of others
    assert names == {"receipt", "one_time_notice", "not_accepted", "supplement_request", "special_procedure",
                     "decision", "pickup", "rating_invitation", "new_task", "urge", "escalation", "progress",
                     "rectification_result", "complaint_answer", "instruction", "task_pooled",
                     "agent_supplement_request", "agent_result", "agent_card_overdue", "agent_progress"}


def test_the_one_time_notice_names_every_material_and_masks_the_applicant():
    (notice,) = plan(event("SupplementNoticeIssued", {"item_code": "MZ-003", "organisation": "county-desk",
                                                      "missing": ["village_opinion"],
                                                      "defective": {"id_card": "复印件不清晰"}}), CATALOGUE, CONTACT)
    assert notice.audience == APPLICANT and notice.subject == "一次性告知书：202602100000001"
    item = CATALOGUE.item("MZ-003")
    assert item.material("village_opinion").name in notice.body
    assert f"{item.material('id_card').name}（复印件不清晰）" in notice.body
    assert "王*明" in notice.body and "王小明" not in notice.body and "13912345678" not in notice.body


def test_a_conclusion_sends_the_decision_pickup_and_rating_invitation():
    issued = plan(event("CaseConcluded", {"result": "issued", "concluded_on": "2026-03-02", "decisions": [],
                                          "reasons": []}), CATALOGUE, CONTACT, item_code="MZ-001")
    assert [n.notice for n in issued] == ["decision", "pickup", "rating_invitation"]
    assert "准予许可" in issued[0].body
    rejected = plan(event("CaseConcluded", {
        "result": "rejected", "concluded_on": "2026-03-02", "reasons": ["water: 不符合规划（《水法》）"],
        "decisions": [{"department": "water", "stage": 1, "decision": "reject", "opinion": "不符合规划",
                       "legal_basis": "《水法》"}]}), CATALOGUE, CONTACT, item_code="MZ-001")
    assert [n.notice for n in rejected] == ["decision", "rating_invitation"] and "不符合规划" in rejected[0].body


def test_applicants_read_the_departments_names_never_their_codes():
    """Events name departments by code (水务局 is `water`); what the applicant reads names them."""
    water = REFERENCE.org.department("water").name
    supplement = plan(event("SupplementRequested", {
        "task_id": "t", "department": "water", "note": "", "late": False,
        "materials": [{"code": "id_card", "problem": "复印件不清晰"}]}), CATALOGUE, CONTACT, item_code="MZ-003")
    special = plan(event("TaskPaused", {"task_id": "t", "department": "water", "reason": "special_procedure",
                                        "procedure": "hearing", "note": ""}), CATALOGUE, CONTACT, item_code="MZ-001")
    answer = plan(event("ComplaintAnswered", {"complaint_id": 3, "department": "water", "answer": "已核实并致歉",
                                              "contact": CONTACT}), CATALOGUE, CONTACT)
    rejected = plan(event("CaseConcluded", {
        "result": "rejected", "concluded_on": "2026-03-02",
        "reasons": ["water: 取水口位于水源保护区（《水法》第三十四条）", "commerce: 不符合布局（《商务条例》）"],
        "decisions": [
            {"department": "water", "stage": 2, "decision": "reject", "opinion": "取水口位于水源保护区",
             "legal_basis": "《水法》第三十四条"},
            {"department": "land_resources", "stage": 2, "decision": "approve", "opinion": "同意",
             "legal_basis": "《土地管理法》"},
            {"department": "commerce", "stage": 2, "decision": "reject", "opinion": "不符合布局",
             "legal_basis": "《商务条例》"}]}), CATALOGUE, CONTACT, item_code="TZ-002")
    for notice in (supplement[0], special[0], answer[0], rejected[0]):
        assert notice.audience == APPLICANT and water in notice.body, notice
        assert "water" not in notice.body and "commerce" not in notice.body, notice.body
    assert f"1. {water}：取水口位于水源保护区（《水法》第三十四条）" in rejected[0].body
    assert f"2. {REFERENCE.org.department('commerce').name}：不符合布局（《商务条例》）" in rejected[0].body
    assert "同意" not in rejected[0].body  # an approval is no reason for a rejection


def test_other_conclusions_give_their_reasons_as_they_come():
    (lapsed, _) = plan(event("CaseConcluded", {
        "result": "supplement_timeout", "concluded_on": "2026-03-02",
        "reasons": ["承诺补齐的材料未在 2026-02-24 前提交（补正超时驳回）"],
        "decisions": [{"department": "water", "stage": 1, "decision": "reject", "opinion": "不符合规划",
                       "legal_basis": "《水法》"}]}), CATALOGUE, CONTACT, item_code="MZ-001")
    assert "承诺补齐的材料未在 2026-02-24 前提交" in lapsed.body and "不符合规划" not in lapsed.body


def test_departments_get_new_tasks_urges_and_escalations():
    opened = plan(event("StageOpened", {"stage": 1, "stage_name": "立项", "tasks": [
        {"task_id": "t1", "department": "water", "lead": False, "limit_days": 30, "deadline": "2026-03-24"}]}),
        CATALOGUE, CONTACT, item_code="TZ-002")
    assert [(n.notice, n.audience, n.department) for n in opened] == [("new_task", DEPARTMENT, "water")]
    red = plan(event("WarningRaised", {"colour": "red", "step": "task", "department": "water",
                                       "deadline": "2026-03-24"}), CATALOGUE, None, item_code="TZ-002")
    assert red[0].notice == "escalation" and "超期" in red[0].body
    yellow = plan(event("WarningRaised", {"colour": "yellow", "step": "task", "department": "water",
                                          "deadline": "2026-03-24"}), CATALOGUE, None, item_code="TZ-002")
    assert yellow[0].notice == "urge"


def test_an_escalation_goes_to_the_late_department_and_claims_no_copy():
    red = plan(event("WarningRaised", {"colour": "red", "step": "task", "department": "water",
                                       "deadline": "2026-03-24"}), CATALOGUE, None, item_code="TZ-002")
    assert [(n.notice, n.audience, n.department) for n in red] == [("escalation", DEPARTMENT, "water")]
    assert "红牌" in red[0].body and "抄送" not in red[0].body  # no copy is sent, none is claimed


def test_special_procedures_are_told_in_writing_and_other_pauses_are_not():
    special = plan(event("TaskPaused", {"task_id": "t", "department": "water", "reason": "special_procedure",
                                        "procedure": "hearing", "note": ""}), CATALOGUE, CONTACT, item_code="MZ-001")
    assert special[0].notice == "special_procedure" and "听证" in special[0].body
    assert plan(event("TaskPaused", {"task_id": "t", "department": "water", "reason": "suspension", "note": "x"}),
                CATALOGUE, CONTACT, item_code="MZ-001") == []


def test_a_planned_special_procedure_tells_the_applicant_when_it_is_expected_to_end():
    paused = {"task_id": "t", "department": "water", "reason": "special_procedure", "procedure": "hearing",
              "note": ""}
    (dated,) = plan(event("TaskPaused", paused | {"planned_days": 5, "expected_end": "2026-10-12"}),
                    CATALOGUE, CONTACT, item_code="MZ-001")
    assert "预计需5个工作日，于2026-10-12结束，届时恢复计算办理时限" in dated.body
    # the calendar did not reach the end yet: the length alone
    (undated,) = plan(event("TaskPaused", paused | {"planned_days": 365, "expected_end": None}),
                      CATALOGUE, CONTACT, item_code="MZ-001")
    assert "预计需365个工作日，结束后恢复计算办理时限" in undated.body
    (unplanned,) = plan(event("TaskPaused", paused), CATALOGUE, CONTACT, item_code="MZ-001")  # as before
    assert "预计" not in unplanned.body and "不计入办理时限" in unplanned.body


def test_templates_render_and_webhook_signatures_are_stable():
    subject, body = render("pickup", case_number="C1", item_name="证", name="王*明", window="", window_phone="")
    assert subject == "领证通知：C1" and "领取" in body
    assert signature("s", "1700000000", b"{}") == signature("s", "1700000000", b"{}")
    assert signature("s", "1700000000", b"{}") != signature("t", "1700000000", b"{}")


def test_the_written_progress_notice_tells_days_used_and_the_expected_date():
    (notice,) = plan(event("ProgressNoticeRequired", {"item_code": "MZ-001", "accepted_on": "2026-03-02",
                                                      "days_used": 5, "limit_days": 15, "deadline": "2026-03-23",
                                                      "paused": False}), CATALOGUE, CONTACT)
    assert notice.notice == "progress" and notice.audience == APPLICANT
    assert "已用5个工作日" in notice.body and "2026-03-23前办结" in notice.body and "王*明" in notice.body
    (paused,) = plan(event("ProgressNoticeRequired", {"item_code": "MZ-001", "accepted_on": "2026-03-02",
                                                      "days_used": 5, "limit_days": 15, "deadline": None,
                                                      "paused": True}), CATALOGUE, CONTACT)
    assert "不计入办理时限" in paused.body and "前办结" not in paused.body


def test_a_rectification_and_a_complaint_answer_go_to_the_person_concerned():
    (done,) = plan(event("RectificationCompleted", {"rating_id": 7, "resolution": "ledger", "note": "窗口已增设引导员"}),
                   CATALOGUE, CONTACT, item_code="MZ-001")
    assert done.notice == "rectification_result" and "限期整改" in done.body and "窗口已增设引导员" in done.body
    (answer,) = plan(event("ComplaintAnswered", {"complaint_id": 3, "department": "civil_affairs",
                                                 "answer": "已核实并致歉", "contact": CONTACT}), CATALOGUE, CONTACT)
    assert answer.subject == "投诉答复：3" and "已核实并致歉" in answer.body


def test_an_instruction_on_a_warning_goes_to_the_department_with_its_reply_day():
    (notice,) = plan(event("WarningInstructed", {
        "warning_id": 7, "colour": "red", "step": "task", "department": "civil_affairs",
        "instruction": "请分管领导牵头，三日内办结", "reply_by": "2026-02-13"}), CATALOGUE, None, item_code="MZ-001")
    assert notice.audience == DEPARTMENT and notice.department == "civil_affairs"
    assert notice.subject == "督办意见：202602100000001"
    assert "已亮红牌" in notice.body and "请分管领导牵头，三日内办结" in notice.body and "2026-02-13" in notice.body
    assert CATALOGUE.item("MZ-001").name in notice.body


def test_every_result_code_reads_as_chinese_to_the_applicant():
    from hall.domain import ResultCode
    from notify_svc.notices import RESULTS

    assert set(RESULTS) == {code.value for code in ResultCode}
    assert all(text and not text.isascii() for text in RESULTS.values())


# A person as the events of issue 15 name whoever did an act: never to be read in an applicant's notice.
CLERK = {"person": "SX0017", "name": "孙桂英", "post": "county-window-civil-affairs/window_clerk/1",
         "organisation": "county-window-civil-affairs", "holder": "county-window-civil-affairs"}
APPLICANTS_EVENTS = [
    ("ApplicationAccepted", {"item_code": "MZ-001", "kind": "promised", "level": "county",
                             "organisation": "county-window-civil-affairs", "channel": "window",
                             "first_clerk": "SX0017", "accepted_on": "2026-02-10", "promised_deadline": "2026-03-16",
                             "promised_materials": [],
                             "by": CLERK}),
    ("SupplementNoticeIssued", {"item_code": "MZ-001", "organisation": "county-window-civil-affairs",
                                "missing": ["id_card"], "defective": {}, "by": CLERK}),
    ("ApplicationRejected", {"item_code": "MZ-001", "organisation": "county-window-civil-affairs",
                             "reasons": ["事项不在有效期内"], "by": CLERK}),
    ("SupplementRequested", {"task_id": "t", "department": "civil_affairs", "note": "", "late": False,
                             "materials": [{"code": "id_card", "problem": "复印件不清晰"}], "by": CLERK}),
    ("TaskPaused", {"task_id": "t", "department": "civil_affairs", "reason": "special_procedure",
                    "procedure": "hearing", "note": "", "by": CLERK}),
    ("CaseConcluded", {"result": "issued", "concluded_on": "2026-03-02", "decisions": [], "reasons": []}),
    ("ProgressNoticeRequired", {"item_code": "MZ-001", "accepted_on": "2026-03-02", "days_used": 5,
                                "limit_days": 15, "deadline": "2026-03-23", "paused": False}),
    ("RectificationCompleted", {"rating_id": 7, "resolution": "fixed", "note": "已当面致歉"}),
    ("ComplaintAnswered", {"complaint_id": 3, "department": "civil_affairs", "answer": "已核实", "contact": CONTACT}),
]


def _staff_work_phones() -> set[str]:
    import yaml

    register = yaml.safe_load(SystemSettings().staff.read_text(encoding="utf-8"))
    return {p["work_phone"] for p in register["persons"] if p.get("work_phone")}


def test_every_applicants_notice_names_the_responsible_window_and_its_public_phone_never_a_persons():
    """首问负责制: the window that accepted the case answers for it; its phone is the public one
    (a window's is its centre's), never the work phone of the clerk who did the act."""
    work_phones = _staff_work_phones()
    assert "0550-6012113" in work_phones  # 孙桂英's, of the civil affairs window
    window = REFERENCE.org.organisation("county-window-civil-affairs").name
    assert REFERENCE.org.public_phone("county-window-civil-affairs") == "0550-6010000"  # the county centre's
    planned = [n for kind, payload in APPLICANTS_EVENTS
               for n in plan(event(kind, payload), CATALOGUE, CONTACT, item_code="MZ-001",
                             organisation="county-window-civil-affairs")]
    assert {n.notice for n in planned} == {
        "receipt", "one_time_notice", "not_accepted", "supplement_request", "special_procedure", "decision", "pickup",
        "rating_invitation", "progress", "rectification_result", "complaint_answer"}
    for notice in planned:
        assert notice.audience == APPLICANT
        assert notice.body.endswith(f"承办窗口：{window}，电话 0550-6010000。"), notice
        assert not any(phone in notice.body for phone in work_phones), notice
        assert "孙桂英" not in notice.body and "SX0017" not in notice.body, notice


def test_a_village_rooms_notice_gives_its_townships_phone_and_an_unknown_window_none():
    room = REFERENCE.org.organisation("zhangqiao-liugang-room")
    (told,) = plan(event("SupplementNoticeIssued", {"item_code": "MZ-005", "organisation": room.code,
                                                    "missing": ["id_card"], "defective": {}}),
                   CATALOGUE, CONTACT, organisation=room.code)
    assert told.body.endswith(f"承办窗口：{room.name}，电话 0550-6210000。")  # 张桥镇行政服务中心's
    (unknown,) = plan(event("RectificationCompleted", {"rating_id": 7, "resolution": "fixed", "note": "已致歉"}),
                      CATALOGUE, CONTACT, item_code="MZ-001")  # a case recorded before notify kept its window
    assert "承办窗口" not in unknown.body and unknown.body.endswith("感谢您的监督。")


def test_departments_notices_name_no_window():
    (opened,) = plan(event("StageOpened", {"stage": 1, "stage_name": "承办", "tasks": [
        {"task_id": "t1", "department": "civil_affairs", "lead": True, "limit_days": 15, "deadline": "2026-03-03"}]}),
        CATALOGUE, CONTACT, item_code="MZ-001", organisation="county-window-civil-affairs")
    assert opened.audience == DEPARTMENT and "承办窗口" not in opened.body
