"""The proxy agent's pages (代办制), for a phone: the ledger of the agent's own cases (代办台账) — those
waiting for the agent (materials to bring, results to deliver, cards to get signed), open, concluded —
with the promised date and the working days used; one case with its steps; and the 办结反馈单 recorded
when the applicant has received the result and signed the card.

Every read and act goes to the intake API with the agent's own credential: the API lists the agent's
own cases only and refuses another agent's case (the page answers 403)."""
from __future__ import annotations

import datetime as dt
import re
import uuid

from onewindow.intake.v1 import intake_pb2 as intake
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hall.clock import local_day
from hall.staff import PostKind

from . import forms, i18n
from .apis import ApiError
from .app import expired_form, posted, render, staff_act
from .staff import Person, not_yours, signed_in_at

PAGE_SIZE = 10  # a phone's screenful or two
VIEWS = {"waiting": intake.LEDGER_WAITING, "open": intake.LEDGER_OPEN, "concluded": intake.LEDGER_CONCLUDED,
         "all": intake.LEDGER_VIEW_UNSPECIFIED}
VIEW_NAMES = {"waiting": "待我办理", "open": "在办", "concluded": "已办结", "all": "全部"}
WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
MARKS = {"signature": intake.SIGNATURE, "thumbprint": intake.THUMBPRINT}
NOT_YOURS = "这个办件不是您代办的：代办员只能查看自己代办的办件。"
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
CARD_ERRORS = {"signed_on": "请填写申请人签收的日期（年-月-日），不早于办结日期，不晚于今天",
               "mark": "请选择申请人签字或按手印"}
HANDOVER_ERRORS = {"to_agent": "请选择本乡镇的乡级代办员", "note": "移交说明不超过500字"}


async def _agent(request: Request) -> Person | Response:
    return await signed_in_at(request, {PostKind.PROXY_AGENT.value}, "本页面供代办员使用",
                              "代办台账供村、乡镇代办员查看自己代办的办件。您登录的岗位不是代办员。")


async def ledger(request: Request):
    """代办台账: one view of the agent's cases, a page at a time, with the count of each view."""
    agent = await _agent(request)
    if isinstance(agent, Response):
        return agent
    view = request.query_params.get("view", "waiting")
    view = view if view in VIEWS else "waiting"
    token = request.query_params.get("page", "")[:200]
    try:
        reply = await agent.call(agent.front.apis.intake.ListAgentCases, intake.ListAgentCasesRequest(
            view=VIEWS[view], page_size=PAGE_SIZE, page_token=token))
    except ApiError as error:
        if error.code != "INVALID_ARGUMENT":  # a spoilt page link: the first page
            raise
        return RedirectResponse(f"/agent?view={view}", status_code=303)
    counts = {"waiting": reply.counts.waiting, "open": reply.counts.open, "concluded": reply.counts.concluded}
    return agent.page("agent.html", view=view, reply=reply, token=token, counts=counts, view_names=VIEW_NAMES)


async def carry_list(request: Request):
    """携带清单: what the village agent takes to its township centre on the next fixed day, and brings back."""
    agent = await _agent(request)
    if isinstance(agent, Response):
        return agent
    try:
        found = await agent.call(agent.front.apis.intake.GetCarryList, intake.GetCarryListRequest())
    except ApiError as error:
        if error.code != "FAILED_PRECONDITION":
            raise
        return agent.page("agent_carry.html", found=None)
    centre = agent.front.org.organisation(found.township)
    day = dt.date.fromisoformat(found.carry_day)
    return agent.page("agent_carry.html", found=found, centre=centre.name if centre else found.township,
                      weekday=WEEKDAYS[day.weekday()])


async def _case(agent: Person, number: str):
    """The case if it is this agent's; None if there is none; a PERMISSION_DENIED ApiError if another's."""
    if not forms.CASE_NUMBER.fullmatch(number):
        return None
    try:
        return await agent.call(agent.front.apis.intake.GetCase, intake.GetCaseRequest(case_number=number))
    except ApiError as error:
        if error.code in ("NOT_FOUND", "INVALID_ARGUMENT"):
            return None
        raise


def my_agents(agent: Person) -> set[str]:
    """The org chart's agent codes of the post signed in at (its organisation's agents)."""
    return {a.code for a in agent.front.org.agents if a.organisation == agent.session.organisation}


def township_agents(agent: Person, case) -> list:
    """The township agents (乡级代办员) a case accepted at a village room may be handed over to."""
    room = agent.front.org.organisation(case.organisation)
    return [a for a in agent.front.org.agents if room is not None and a.organisation == room.parent]


async def case_page(request: Request, card_form: forms.Form | None = None, problem=None, status: int = 200,
                    handover_form: forms.Form | None = None):
    """One case of the agent's: its facts, what is owed, its steps, and its 办结反馈单."""
    agent = await _agent(request)
    if isinstance(agent, Response):
        return agent
    try:
        case = await _case(agent, request.path_params["number"])
    except ApiError as error:
        if error.code == "PERMISSION_DENIED":
            return not_yours(request, NOT_YOURS)
        raise
    if case is None:
        return render(request, "error.html", status=404, title="没有这个办件", text="没有找到这个办件。")
    today = local_day(agent.front.now())
    card_form = card_form or forms.Form({"signed_on": today.isoformat(), "mark": "signature",
                                         "request_id": uuid.uuid4().hex})
    org = agent.front.org
    return agent.page("agent_case.html", status=status, case=case, card_form=card_form, problem=problem,
                      history=[(e.at[:16].replace("T", " "), e.kind) for e in case.history], mine=my_agents(agent),
                      township_agents=township_agents(agent, case),
                      handover_form=handover_form or forms.Form({"to_agent": "", "note": ""}),
                      agent_name=lambda code: (a.name if (a := org.agent(code)) else code))


def card_form(data, today: dt.date) -> forms.Form:
    form = forms.Form({n: str(data.get(n, "")).strip() for n in ("signed_on", "mark", "request_id")})
    v = form.values
    day = None
    if _DAY.fullmatch(v["signed_on"]):
        try:
            day = dt.date.fromisoformat(v["signed_on"])
        except ValueError:
            pass
    form.need("signed_on", day is not None and day <= today, CARD_ERRORS["signed_on"])
    form.need("mark", v["mark"] in MARKS, CARD_ERRORS["mark"])
    v["request_id"] = v["request_id"][:64] or uuid.uuid4().hex
    return form


@staff_act(_agent)
async def record_card(request: Request, agent, data):
    """办结反馈单: the applicant received the result and signed (or thumb-printed) the card."""
    number = request.path_params["number"]
    if not forms.CASE_NUMBER.fullmatch(number):
        return render(request, "error.html", status=404, title="没有这个办件", text="没有找到这个办件。")
    form = card_form(data, local_day(agent.front.now()))
    if not form.ok:
        return await case_page(request, form, status=400)
    v = form.values
    try:
        await agent.call(agent.front.apis.intake.RecordResultCard, intake.RecordResultCardRequest(
            request_id=f"agent-{v['request_id']}", case_number=number, signed_on=v["signed_on"],
            mark=MARKS[v["mark"]]))
    except ApiError as error:
        if error.code == "PERMISSION_DENIED":
            return not_yours(request, NOT_YOURS)
        if error.code not in ("INVALID_ARGUMENT", "FAILED_PRECONDITION"):
            raise
        for path, _ in error.fields:
            if path in CARD_ERRORS:
                form.errors.setdefault(path, CARD_ERRORS[path])
        problem = None if form.errors else i18n.said("未能登记办结反馈单：%(why)s", why=error.message)
        return await case_page(request, form, problem, status=400)
    return RedirectResponse(f"/agent/cases/{number}", status_code=303)


async def _act(request: Request, method: str, message, form: forms.Form, errors: dict, failed: str):
    """One act on a case from its page: done, the case again; refused, the page with the fields at fault."""
    agent = await _agent(request)
    if isinstance(agent, Response):
        return agent
    number = request.path_params["number"]
    try:
        await agent.call(getattr(agent.front.apis.intake, method), message)
    except ApiError as error:
        if error.code == "PERMISSION_DENIED":
            return not_yours(request, NOT_YOURS)
        if error.code == "NOT_FOUND":
            return render(request, "error.html", status=404, title="没有这个办件", text="没有找到这个办件。")
        if error.code not in ("INVALID_ARGUMENT", "FAILED_PRECONDITION"):
            raise
        for path, _ in error.fields:
            if path in errors:
                form.errors.setdefault(path, errors[path])
        problem = None if form.errors else i18n.said(failed, why=error.message)
        return await case_page(request, problem=problem, status=400, handover_form=form)
    return RedirectResponse(f"/agent/cases/{number}", status_code=303)


@staff_act(_agent)
async def hand_over(request: Request, agent, data):
    """The village agent hands a county matter to the township agent (乡级代办员)."""
    number = request.path_params["number"]
    form = forms.Form({n: str(data.get(n, "")).strip() for n in ("to_agent", "note")})
    form.need("to_agent", bool(form.values["to_agent"]), HANDOVER_ERRORS["to_agent"])
    form.need("note", len(form.values["note"]) <= 500, HANDOVER_ERRORS["note"])
    if not forms.CASE_NUMBER.fullmatch(number):
        return render(request, "error.html", status=404, title="没有这个办件", text="没有找到这个办件。")
    if not form.ok:
        return await case_page(request, status=400, handover_form=form)
    return await _act(request, "HandOver", intake.HandOverRequest(
        case_number=number, to_agent=form.values["to_agent"][:64], note=form.values["note"]), form,
        HANDOVER_ERRORS, "未能移交：%(why)s")


async def confirm_hand_over(request: Request):
    """The township agent confirms receiving a case handed over."""
    agent = await _agent(request)
    if isinstance(agent, Response):
        return agent
    if await posted(request, agent.session.csrf) is None:
        return expired_form(request)
    number = request.path_params["number"]
    if not forms.CASE_NUMBER.fullmatch(number):
        return render(request, "error.html", status=404, title="没有这个办件", text="没有找到这个办件。")
    return await _act(request, "ConfirmHandOver", intake.ConfirmHandOverRequest(case_number=number),
                      forms.Form({"to_agent": "", "note": ""}), {}, "未能确认接收：%(why)s")


ROUTES = [
    Route("/agent", ledger),
    Route("/agent/carry", carry_list),
    Route("/agent/cases/{number}", case_page),
    Route("/agent/cases/{number}/card", record_card, methods=["POST"]),
    Route("/agent/cases/{number}/hand-over", hand_over, methods=["POST"]),
    Route("/agent/cases/{number}/confirm", confirm_hand_over, methods=["POST"]),
]
