"""The 代办制's checks (seeds/004) on the web: the township centre's manager's page (/township, on a phone)
with its agents' month against their quotas (乡级 1 a week, 村级 2 a month, 组级 1 a month), 办结率, 满意率,
fee complaints, those below quota at month end, and the 抽查 — draw some of the agents' cases of the month at
random and record what was found on each; and the supervision office's 回访 (/office/follow-ups): its
criteria, the system's suggested share of the concluded cases, the selection and each call's outcome.

Every read and act goes to the supervision API with the person's own credential: the API scopes the
township to the manager's own and records who did what; these pages what to show and offer."""
from __future__ import annotations

import re
import uuid
from urllib.parse import urlencode

from onewindow.supervision.v1 import supervision_pb2 as spb
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hall.clock import local_day
from hall.domain import Level, OrgKind
from hall.staff import PostKind

from . import forms
from .apis import ApiError
from .app import render, staff_act
from .staff import Person, not_yours, signed_in_at

MANAGERS = {PostKind.CENTRE_MANAGER.value}
OFFICERS = {PostKind.SUPERVISION_OFFICER.value}
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
ITEM = re.compile(r"[A-Z0-9][A-Z0-9-]{1,31}")
FINDINGS = {"carried_out": spb.CARRIED_OUT, "not_carried_out": spb.NOT_CARRIED_OUT}
FINDING_NAMES = {spb.CARRIED_OUT: "已落实", spb.NOT_CARRIED_OUT: "未落实"}
TIERS = {"township": "乡级", "village": "村级", "group": "组级"}
DONE = {"draw": "已抽取，请逐件核查并记录结果", "check": "核查结果已记录", "select": "已选定回访的办件",
        "call": "回访已记录"}
FIELD_ERRORS = {
    "count": "抽查件数为1至50件", "finding": "请选择核查结果（已落实或未落实）",
    "note": "未落实的须写明核查发现的问题（2000字以内）", "month": "请选择月份",
    "case_numbers": "请至少选择一件已办结的办件", "outcome": "请写明回访情况（2000字以内）",
    "share": "回访比例为1%至100%", "called": "这次回访已经记录过了",
    "criteria": "筛选条件有误：事项编码、部门或代办员不存在", "agent_fee": "这件没有代办员经办，不能登记代办收费投诉",
}


def _month(request: Request, person: Person) -> str:
    month = request.query_params.get("month", "")[:7]
    return month if MONTH.fullmatch(month) else local_day(person.front.now()).strftime("%Y-%m")


def _fields(error: ApiError) -> set[str]:
    return {path.partition("[")[0].rpartition(".")[2] for path, _ in error.fields}


# --- the township's page --------------------------------------------------------------------------

async def _manager(request: Request) -> Person | Response:
    manager = await signed_in_at(request, MANAGERS, "本页面供乡镇便民服务中心主任使用",
                                 "代办员考核与抽查页面供乡镇便民服务中心主任使用。您登录的岗位没有这项职责。")
    if isinstance(manager, Response):
        return manager
    centre = manager.front.org.organisation(manager.session.organisation)
    if centre is None or centre.kind != OrgKind.CENTRE or centre.level != Level.TOWNSHIP:
        return render(request, "error.html", status=403, title="本页面供乡镇便民服务中心主任使用",
                      text="代办员考核与抽查由乡镇便民服务中心负责。您所在的中心不是乡镇中心。")
    return manager


async def township(request: Request, shown: dict | None = None, status: int = 200):
    manager = await _manager(request)
    if isinstance(manager, Response):
        return manager
    month = _month(request, manager)
    api = manager.front.apis.supervision
    quotas = await manager.call(api.GetAgentQuotas, spb.GetAgentQuotasRequest(month=month))
    draws = (await manager.call(api.ListSpotChecks, spb.ListSpotChecksRequest(month=month))).draws
    org = manager.front.org
    names = {a.code: a.name for a in org.agents}
    groups = {g.code: g.name for g in org.villager_groups}
    shown = shown or {}
    return manager.page("township.html", status=status, month=month, quotas=quotas, draws=draws, names=names,
                        groups=groups, tiers=TIERS, findings=FINDING_NAMES,
                        below=[names.get(a, a) for a in quotas.below_quota],
                        draw_form=shown.get("draw") or forms.Form({"count": "3", "request_id": uuid.uuid4().hex}),
                        check_forms={k: f for k, f in shown.items() if k != "draw"}, empty=forms.Form({}),
                        done=DONE.get(request.query_params.get("done", "")))


@staff_act(_manager)
async def draw(request: Request, manager, data):
    form = forms.Form({n: str(data.get(n, "")).strip() for n in ("count", "request_id", "month")})
    v = form.values
    form.need("month", bool(MONTH.fullmatch(v["month"])), FIELD_ERRORS["month"])
    form.need("count", v["count"].isdigit() and 1 <= int(v["count"]) <= 50, FIELD_ERRORS["count"])
    request_id = v["request_id"] if re.fullmatch(r"[0-9a-f]{32}", v["request_id"]) else uuid.uuid4().hex
    if form.ok:
        try:
            await manager.call(manager.front.apis.supervision.DrawSpotChecks, spb.DrawSpotChecksRequest(
                request_id=request_id, month=v["month"], count=int(v["count"])))
            return RedirectResponse(f"/township?{urlencode({'month': v['month'], 'done': 'draw'})}#draws",
                                    status_code=303)
        except ApiError as error:
            if error.code != "INVALID_ARGUMENT":
                raise
            for name in _fields(error) & {"count", "month"}:
                form.errors.setdefault(name, FIELD_ERRORS[name])
            if not form.errors:  # a month after this one
                form.errors["month"] = FIELD_ERRORS["month"]
    request.scope["query_string"] = urlencode({"month": v["month"]}).encode()
    return await township(request, {"draw": form}, status=400)


@staff_act(_manager)
async def record_check(request: Request, manager, data):
    check = request.path_params["check_id"]
    if not check.isdigit() or len(check) > 12:
        return not_yours(request, "这不是本乡镇的抽查")
    form = forms.Form({n: str(data.get(n, "")).strip() for n in ("finding", "note", "month")})
    v = form.values
    form.need("finding", v["finding"] in FINDINGS, FIELD_ERRORS["finding"])
    form.need("note", len(v["note"]) <= 2000 and (v["finding"] != "not_carried_out" or v["note"]),
              FIELD_ERRORS["note"])
    month = v["month"] if MONTH.fullmatch(v["month"]) else ""
    if form.ok:
        try:
            await manager.call(manager.front.apis.supervision.RecordSpotCheck, spb.RecordSpotCheckRequest(
                check_id=int(check), finding=FINDINGS[v["finding"]], note=v["note"]))
            return RedirectResponse(f"/township?{urlencode({'month': month, 'done': 'check'})}#check-{check}",
                                    status_code=303)
        except ApiError as error:
            if error.code == "PERMISSION_DENIED" or error.code == "NOT_FOUND":
                return not_yours(request, "这不是本乡镇的抽查")
            if error.code != "INVALID_ARGUMENT":
                raise
            for name in _fields(error) & {"finding", "note"}:
                form.errors.setdefault(name, FIELD_ERRORS[name])
    request.scope["query_string"] = urlencode({"month": month}).encode()
    return await township(request, {int(check): form}, status=400)


# --- the office's follow-up calls (回访) -----------------------------------------------------------

async def _officer(request: Request) -> Person | Response:
    return await signed_in_at(request, OFFICERS, "本页面供电子监察人员使用",
                              "回访由纪检监察（电子监察）室选定和记录。您登录的岗位不能使用本页面。")


def _criteria_form(query) -> forms.Form:
    values = {n: str(query.get(n, "")).strip() for n in ("month", "item", "department", "agent", "bad", "share")}
    form = forms.Form(values)
    form.need("month", bool(MONTH.fullmatch(values["month"])), FIELD_ERRORS["month"])
    form.need("share", not values["share"] or (values["share"].isdigit() and 1 <= int(values["share"]) <= 100),
              FIELD_ERRORS["share"])
    form.need("criteria", (not values["item"] or bool(ITEM.fullmatch(values["item"])))
              and all(not values[n] or bool(CODE.fullmatch(values[n])) for n in ("department", "agent")),
              FIELD_ERRORS["criteria"])
    return form


async def follow_ups(request: Request, shown: dict | None = None, status: int = 200):
    officer = await _officer(request)
    if isinstance(officer, Response):
        return officer
    api = officer.front.apis.supervision
    query = dict(request.query_params)
    query.setdefault("month", local_day(officer.front.now()).strftime("%Y-%m"))
    criteria = _criteria_form(query)
    suggestion = None
    if criteria.ok:
        v = criteria.values
        message = spb.FollowUpCriteria(
            period=spb.Period(month=v["month"]), items=[v["item"]] if v["item"] else [],
            departments=[v["department"]] if v["department"] else [], agents=[v["agent"]] if v["agent"] else [],
            bad_ratings_only=v["bad"] == "1", share=int(v["share"]) / 100 if v["share"] else 0)
        try:
            suggestion = await officer.call(api.SuggestFollowUps, spb.SuggestFollowUpsRequest(criteria=message))
        except ApiError as error:
            if error.code != "INVALID_ARGUMENT":
                raise
            criteria.errors.setdefault("criteria", FIELD_ERRORS["criteria"])
    calls = (await officer.call(api.ListFollowUpCalls, spb.ListFollowUpCallsRequest(open_only=True,
                                                                                    page_size=100))).calls
    org = officer.front.org
    shown = shown or {}
    back = urlencode({k: v for k, v in criteria.values.items() if v})
    return officer.page("office_follow_ups.html", status=status, criteria=criteria, suggestion=suggestion, back=back,
                        calls=calls, agents=sorted((a.code, a.name) for a in org.agents),
                        departments=[(d.code, d.name) for d in org.departments],
                        names={a.code: a.name for a in org.agents}, select_form=shown.get("select") or forms.Form({}),
                        call_forms={k: f for k, f in shown.items() if k != "select"}, empty=forms.Form({}),
                        done=DONE.get(request.query_params.get("done", "")))


@staff_act(_officer)
async def select(request: Request, officer, data):
    cases = [str(c) for c in data.getlist("case_numbers") if re.fullmatch(r"\d{15}", str(c))][:500]
    back = str(data.get("back", ""))[:500]
    back = back if re.fullmatch(r"[\w=&%.+-]*", back) else ""
    form = forms.Form({"case_numbers": ",".join(cases), "criteria": str(data.get("criteria", ""))[:2000]})
    form.need("case_numbers", bool(cases), FIELD_ERRORS["case_numbers"])
    if form.ok:
        try:
            await officer.call(officer.front.apis.supervision.SelectFollowUps, spb.SelectFollowUpsRequest(
                case_numbers=cases, criteria=form.values["criteria"]))
            return RedirectResponse(f"/office/follow-ups?{back}&done=select#calls", status_code=303)
        except ApiError as error:
            if error.code != "INVALID_ARGUMENT":
                raise
            form.errors["case_numbers"] = FIELD_ERRORS["case_numbers"]
    request.scope["query_string"] = back.encode()
    return await follow_ups(request, {"select": form}, status=400)


@staff_act(_officer)
async def record_call(request: Request, officer, data):
    call = request.path_params["call_id"]
    if not call.isdigit() or len(call) > 12:
        return not_yours(request, "没有这个回访")
    form = forms.Form({"outcome": str(data.get("outcome", "")).strip(), "agent_fee": str(data.get("agent_fee", ""))})
    form.need("outcome", 0 < len(form.values["outcome"]) <= 2000, FIELD_ERRORS["outcome"])
    if form.ok:
        try:
            await officer.call(officer.front.apis.supervision.RecordFollowUpCall, spb.RecordFollowUpCallRequest(
                call_id=int(call), outcome=form.values["outcome"], agent_fee=form.values["agent_fee"] == "1"))
            return RedirectResponse("/office/follow-ups?done=call#calls", status_code=303)
        except ApiError as error:
            if error.code == "NOT_FOUND":
                return not_yours(request, "没有这个回访")
            if error.code not in ("INVALID_ARGUMENT", "FAILED_PRECONDITION"):
                raise
            if "agent" in _fields(error):
                form.errors["agent_fee"] = FIELD_ERRORS["agent_fee"]
            else:
                form.errors["outcome"] = FIELD_ERRORS["outcome" if error.code == "INVALID_ARGUMENT" else "called"]
    return await follow_ups(request, {int(call): form}, status=400)


ROUTES = [
    Route("/township", township),
    Route("/township/draw", draw, methods=["POST"]),
    Route("/township/checks/{check_id}", record_check, methods=["POST"]),
    Route("/office/follow-ups", follow_ups),
    Route("/office/follow-ups/select", select, methods=["POST"]),
    Route("/office/follow-ups/{call_id}", record_call, methods=["POST"]),
]
