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
    form = Form(_clean(data, ("staff_number", "post_id")))
    form.values["password"] = str(data.get("password", ""))
    form.need("staff_number", bool(form.values["staff_number"]), "请填写工号")
    form.need("password", bool(form.values["password"]), "请填写密码")
    return form


def password_form(data) -> Form:
    form = Form(_clean(data, ("staff_number", "post_id")))
    for name in ("current_password", "new_password", "repeat_password"):
        form.values[name] = str(data.get(name, ""))
    v = form.values
    form.need("staff_number", bool(v["staff_number"]), "请填写工号")
    form.need("current_password", bool(v["current_password"]), "请填写当前密码（首次登录时为初始密码）")
    form.need("new_password", bool(v["new_password"]), "请填写新密码")
    form.need("repeat_password", v["repeat_password"] == v["new_password"], "两次填写的新密码不一致")
    return form
