"""What the village settles itself (村委会证明、意见): at a village room the cadre who accepted a village
committee's certificate or opinion decides it on the spot, on the case's page, and prints it.

The decision is the department desk API's `Decide` on the room's own task, with the cadre's own
credential (the room's cadres decide their village committee's matters there); the page finds the task
by the case. A certificate so issued is cited by its case number as the material of another item
(`forms.application_form` reads what the desk typed for it, `cert_<material>`)."""
from __future__ import annotations

import json

from onewindow.desk.v1 import desk_pb2 as desk
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from . import forms
from .apis import ApiError
from .app import expired_form, posted

VILLAGE = "village"  # GuideItem.decided_at of a village committee's item
OPEN = ("accepted", "in_handling")
DECISIONS = {"approve": desk.APPROVE, "reject": desk.REJECT}
OPINION_MAX, BASIS_MAX = 2000, 1000


def settles_here(item, case, organisation: str) -> bool:
    """Whether the signed-in clerk's room decides this case now: a village committee's item, accepted at
    the clerk's own room, not yet decided."""
    return item is not None and item.decided_at == VILLAGE and case.organisation == organisation \
        and case.status in OPEN


def blank(item) -> forms.Form:
    return forms.Form({"decision": "approve", "opinion": "", "legal_basis": item.legal_basis if item else ""})


def decision_form(data) -> forms.Form:
    form = forms.Form({n: str(data.get(n, "")).strip() for n in ("decision", "opinion", "legal_basis")})
    v = form.values
    form.need("decision", v["decision"] in DECISIONS, "请选择出具或不予出具")
    form.need("opinion", bool(v["opinion"]), "请写明证明（意见）的内容或不予出具的理由")
    form.need("opinion", len(v["opinion"]) <= OPINION_MAX, "内容不超过2000字")
    form.need("legal_basis", bool(v["legal_basis"]), "请填写依据")
    form.need("legal_basis", len(v["legal_basis"]) <= BASIS_MAX, "依据不超过1000字")
    return form


def decision_of(case) -> dict:
    """The committee's decision as the case's history records it: opinion, who decided, when; {} before."""
    entry = next((h for h in reversed(case.history) if h.kind == "decided"), None)
    if entry is None:
        return {}
    detail = json.loads(entry.detail_json).get("detail", {})
    return {"opinion": detail.get("opinion", ""), "legal_basis": detail.get("legal_basis", ""),
            "decision": detail.get("decision", ""), "by": entry.by.name if entry.HasField("by") else "",
            "on": entry.at[:10]}


async def decide(request: Request):
    """The cadre's decision on the spot (当场办理): approve issues the certificate, reject refuses it with
    reasons; then the case's page, where the certificate is printed."""
    from .desk import _case, _clerk, _item, _missing, _not_yours, case_page

    clerk = await _clerk(request)
    if isinstance(clerk, Response):
        return clerk
    data = await posted(request, clerk.session.csrf)
    if data is None:
        return expired_form(request)
    case = await _case(clerk, request.path_params["number"])
    if case is None:
        return _missing(request)
    item = await _item(clerk, case.item_code)
    if not settles_here(item, case, clerk.session.organisation):
        return await case_page(request, notice="本件不是本室可当场办理的村委会事项，或已办结", status=409)
    form = decision_form(data)
    if not form.ok:
        return await case_page(request, spot_form=form, status=400)
    apis = clerk.front.apis
    try:
        tasks = (await clerk.call(apis.desk.ListTasks, desk.ListTasksRequest(case_number=case.case_number))).tasks
        task = next((t for t in tasks if t.status != desk.DECIDED), None)
        if task is None:  # routing and approval open it within moments of the acceptance
            return await case_page(request, spot_form=form, status=409,
                                   notice="本件正在转入本村委会办理，请稍候几秒再提交")
        v = form.values
        await clerk.call(apis.desk.Decide, desk.DecideRequest(
            task_id=task.task_id, decision=DECISIONS[v["decision"]], opinion=v["opinion"],
            legal_basis=v["legal_basis"]))
    except ApiError as error:
        if error.code == "PERMISSION_DENIED":
            return _not_yours(request)
        if error.code == "INVALID_ARGUMENT":
            form.errors.update({f: r for f, r in error.fields if f in form.values} or {"opinion": error.message})
            return await case_page(request, spot_form=form, status=400)
        if error.code == "FAILED_PRECONDITION":
            return await case_page(request, status=409, notice="本件已办结，不能重复办理")
        raise
    return RedirectResponse(f"/desk/cases/{case.case_number}", status_code=303)


ROUTES = [Route("/desk/cases/{number}/decide", decide, methods=["POST"])]
