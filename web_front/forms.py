"""The public's forms, checked before any API is called: each returns the cleaned values and the
problems by field (messages are the catalogue's Chinese msgids; the page translates them)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

CASE_NUMBER = re.compile(r"\d{15}")
LAST4 = re.compile(r"\d{4}")
PHONE = re.compile(r"\+?\d[\d -]{5,18}\d")
RATING_TAGS = ("办事效率高", "服务态度好", "一次告知清楚", "材料要求多", "等候时间长", "多次跑腿", "收费不明")
TEXT_MAX, COMMENT_MAX = 2000, 500


@dataclass
class Form:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)  # field -> message, in the form's order

    @property
    def ok(self) -> bool:
        return not self.errors

    def need(self, name: str, test: bool, message: str) -> None:
        if not test and name not in self.errors:
            self.errors[name] = message


def _clean(data, names: tuple[str, ...]) -> dict[str, str]:
    return {n: str(data.get(n, "")).strip() for n in names}


def lookup_form(data) -> Form:
    form = Form(_clean(data, ("case_number", "phone_last4")))
    v = form.values
    form.need("case_number", bool(v["case_number"]), "请填写办件编号")
    form.need("case_number", bool(CASE_NUMBER.fullmatch(v["case_number"])), "办件编号为15位数字，见受理回执")
    form.need("phone_last4", bool(LAST4.fullmatch(v["phone_last4"])), "请填写申请时所留手机号码的后4位数字")
    return form


def complaint_lookup_form(data) -> Form:
    form = Form(_clean(data, ("complaint_id", "phone_last4")))
    v = form.values
    form.need("complaint_id", v["complaint_id"].isdigit() and len(v["complaint_id"]) <= 12,
              "投诉编号为数字，见提交投诉后的页面")
    form.need("phone_last4", bool(LAST4.fullmatch(v["phone_last4"])), "请填写投诉时所留手机号码的后4位数字")
    return form


def complaint_form(data) -> Form:
    form = Form(_clean(data, ("case_number", "department", "text", "contact_name", "contact_phone")))
    v = form.values
    form.need("case_number", not v["case_number"] or bool(CASE_NUMBER.fullmatch(v["case_number"])),
              "办件编号为15位数字；不涉及具体办件可不填")
    form.need("text", bool(v["text"]), "请写明投诉的事情和经过")
    form.need("text", len(v["text"]) <= TEXT_MAX, "投诉内容不超过2000字")
    form.need("contact_name", len(v["contact_name"]) <= 50, "姓名不超过50字")
    form.need("contact_phone", bool(PHONE.fullmatch(v["contact_phone"])),
              "请填写手机号码：答复时通知您，查询答复也要用到它的后4位")
    form.need("case_number", bool(v["case_number"] or v["department"]), "请填写办件编号或选择被投诉的部门")
    return form


def rating_form(data) -> tuple[Form, list[str]]:
    form = Form(_clean(data, ("level", "comment")))
    v = form.values
    form.need("level", v["level"] in {"1", "2", "3", "4", "5"}, "请选择一个评价等级")
    form.need("comment", len(v["comment"]) <= COMMENT_MAX, "意见不超过500字")
    tags = [t for t in (data.getlist("tag") if hasattr(data, "getlist") else []) if t in RATING_TAGS]
    return form, tags


def sign_in_form(data) -> Form:
    form = Form(_clean(data, ("staff_number", "post_id", "next")))
    form.values["password"] = str(data.get("password", ""))
    form.need("staff_number", bool(form.values["staff_number"]), "请填写工号")
    form.need("password", bool(form.values["password"]), "请填写密码")
    return form


def password_form(data) -> Form:
    form = Form(_clean(data, ("staff_number", "post_id", "next")))
    for name in ("current_password", "new_password", "repeat_password"):
        form.values[name] = str(data.get(name, ""))
    v = form.values
    form.need("staff_number", bool(v["staff_number"]), "请填写工号")
    form.need("current_password", bool(v["current_password"]), "请填写当前密码（首次登录时为初始密码）")
    form.need("new_password", bool(v["new_password"]), "请填写新密码")
    form.need("repeat_password", v["repeat_password"] == v["new_password"], "两次填写的新密码不一致")
    return form


# --- the acceptance desk (受理台) ------------------------------------------------------------------

ANSWERS = ("accept", "refuse", "consult")  # 受理（按材料判断）, 不予受理, 仅咨询
ID_NUMBER = re.compile(r"[0-9A-Z]{17}[0-9X]")  # 居民身份证号 or 统一社会信用代码; the API checks the check digit
MOBILE = re.compile(r"\d{7,20}")
REASON_MAX, REASONS_MAX = 500, 10


@dataclass
class Application:
    """The desk's form for one item, checked: the values as typed (kept on the page), the problems
    by field, and what goes to Submit."""
    form: Form
    materials: list[tuple[str, str]]  # (material code, defect or "") of each material received
    fields: dict[str, str]  # the item's own fields, by code
    reasons: list[str]  # the clerk's reasons for not accepting
    certificates: dict[str, str] = field(default_factory=dict)  # material code -> case number of a 村委会证明 cited


def application_form(data, item, proxy_allowed: bool) -> Application:
    """The application form built from a GuideItem: applicant, the item's fields, the materials
    checklist (received, copies brought, defect), 项目代码, the 容缺 commitment, the agent and the
    consent reference of a proxy case, the agent who accompanied the applicant to an in-person item (带领),
    and the clerk's answer."""
    names = ["answer", "applicant_name", "id_number", "phone", "email", "project_code", "commitment",
             "refusal_reasons", "proxy", "agent", "consent_ref", "request_id", "accompanied_by"]
    for material in item.materials:
        names += [f"has_{material.code}", f"copies_{material.code}", f"defect_{material.code}"]
        if material.certificate:  # or the case number of the village committee's certificate standing for it
            names.append(f"cert_{material.code}")
    names += [f"f_{f.code}" for f in item.fields]
    form = Form(_clean(data, tuple(names)))
    v = form.values
    v["id_number"] = v["id_number"].upper()
    answer = v["answer"] or "accept"
    form.need("answer", answer in ANSWERS, "请选择受理、不予受理或仅咨询")
    form.need("applicant_name", bool(v["applicant_name"]), "请填写申请人姓名或单位名称")
    form.need("applicant_name", len(v["applicant_name"]) <= 100, "申请人不超过100字")
    form.need("id_number", bool(ID_NUMBER.fullmatch(v["id_number"])),
              "请填写18位居民身份证号码或统一社会信用代码")
    form.need("phone", bool(MOBILE.fullmatch(v["phone"].replace(" ", "").replace("-", ""))),
              "请填写申请人的手机号码：短信通知和办件查询都要用到它")
    form.need("email", len(v["email"]) <= 254 and (not v["email"] or "@" in v["email"]), "电子邮箱格式不正确")
    reasons = [line.strip() for line in v["refusal_reasons"].splitlines() if line.strip()]
    if answer == "refuse":
        form.need("refusal_reasons", bool(reasons), "不予受理须写明理由，每行一条")
        form.need("refusal_reasons", len(reasons) <= REASONS_MAX and all(len(r) <= REASON_MAX for r in reasons),
                  "理由不超过10条，每条不超过500字")
    if v["proxy"]:
        form.need("proxy", proxy_allowed, "本事项须申请人本人到场办理，不能代办")
        form.need("agent", bool(v["agent"]), "代办件请选择代办员")
        form.need("consent_ref", bool(v["consent_ref"]), "代办件请填写委托单编号")
        form.need("consent_ref", len(v["consent_ref"]) <= 64, "委托单编号不超过64字")
    # 带领: an in-person item may name the agent who came with the applicant
    form.need("accompanied_by", not (v["accompanied_by"] and (proxy_allowed or v["proxy"])),
              "只有须本人到场的事项才登记带领的代办员")
    if item.requires_project_code and answer == "accept":
        form.need("project_code", bool(v["project_code"]), "投资项目须填写项目代码")
    fields = {}
    for f in item.fields:
        value = v[f"f_{f.code}"]
        if answer == "accept":
            form.need(f"f_{f.code}", bool(value) or not f.required, "请填写此项")
        form.need(f"f_{f.code}", len(value) <= (f.max_length or 2000), "内容过长")
        if value:
            fields[f.code] = value
    materials, certificates = [], {}
    for material in item.materials:
        cited = v.get(f"cert_{material.code}", "")
        form.need(f"cert_{material.code}", not cited or bool(CASE_NUMBER.fullmatch(cited)),
                  "村委会证明（意见）的办件编号为15位数字，见证明上的办件编号")
        if cited:  # checked by intake: issued, of the right kind, for this applicant; then received
            certificates[material.code] = cited
            materials.append((material.code, ""))
            continue
        if not v[f"has_{material.code}"]:
            continue
        copies_text = v[f"copies_{material.code}"] or str(material.copies)
        copies = int(copies_text) if copies_text.isdigit() else -1
        form.need(f"copies_{material.code}", 0 <= copies <= 99, "请填写收到的份数")
        defect = v[f"defect_{material.code}"]
        form.need(f"defect_{material.code}", len(defect) <= REASON_MAX, "问题说明不超过500字")
        if 0 <= copies < material.copies:
            short = "份数不足：应交%(need)s份，实交%(got)s份" % {"need": material.copies, "got": copies}
            defect = f"{short}；{defect}" if defect else short
        materials.append((material.code, defect))
    return Application(form, materials, fields, reasons, certificates)


def supply_form(data, owed: list[str]) -> tuple[Form, list[str]]:
    """Materials brought for a case: at least one of those it owes."""
    form = Form(_clean(data, ("case_number",)))
    chosen = [c for c in (data.getlist("material") if hasattr(data, "getlist") else []) if c in owed]
    form.need("material", bool(chosen), "请勾选本次收到的材料")
    return form, chosen


def fee_form(data, fee_yuan: str) -> Form:
    """The fee collected (一次性收费) and its receipt (收费票据): the amount in yuan, at most the
    item's fee; less needs its reason (减免)."""
    form = Form(_clean(data, ("amount_yuan", "receipt_number", "reduction_reason", "request_id")))
    v = form.values
    amount = _yuan(v["amount_yuan"])
    due = _yuan(fee_yuan) or 0
    form.need("amount_yuan", amount is not None and 0 < amount <= due,
              "请填写实收金额（元），不超过本事项的收费标准")
    form.need("receipt_number", 0 < len(v["receipt_number"]) <= 64, "请填写收费票据号码")
    if amount is not None and amount < due:
        form.need("reduction_reason", bool(v["reduction_reason"]), "少于收费标准时须写明减免理由")
    return form


def _yuan(text: str) -> int | None:
    """Yuan as typed ("20", "12.5", "12.50") in fen; None if it is not an amount."""
    match = re.fullmatch(r"(\d{1,8})(?:\.(\d{1,2}))?", text.strip())
    if not match:
        return None
    return int(match[1]) * 100 + int((match[2] or "0").ljust(2, "0"))
