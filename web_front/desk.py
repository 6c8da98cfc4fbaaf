"""The acceptance desk (受理台) of a window, an acceptance desk or a village room, for its signed-in
clerks: find the item, fill the application built from it, give the clerk's answer at once
(accepted, accepted with a commitment, a one-time notice, not accepted, a consultation), print what
the applicant takes home, record the fee, take materials brought later, see the window's day, and
invite a rating on the window's pad.

Every act goes to the intake API with the clerk's own credential: the API decides what the clerk
may do (its own organisation's cases only), this page only what to show."""
from __future__ import annotations

import uuid

import anyio
from onewindow.identity.v1 import identity_pb2 as ipb
from onewindow.intake.v1 import intake_pb2 as intake
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hall.clock import local_day
from hall.domain import Level, OrgKind
from hall.staff import PostKind

from . import documents, forms, i18n, village
from .apis import ApiError
from .app import expired_form, posted, render, staff_act
from .links import BadLink
from .pads import ACCEPTANCE
from .staff import Person, not_yours, signed_in_at

CLERKS = {PostKind.ACCEPTANCE_CLERK.value, PostKind.WINDOW_CLERK.value}
PAGE_SIZE = 20
NOT_YOURS = "本岗位只能为本单位受理、查看本单位受理的办件"

# what the intake API calls a field, and what the form calls it
_API_FIELDS = {"applicant.name": "applicant_name", "applicant.id_number": "id_number", "applicant.phone": "phone",
               "applicant.email": "email", "project_code": "project_code", "agent": "agent",
               "consent_ref": "consent_ref", "refusal_reasons": "refusal_reasons", "consultation": "answer",
               "accompanied_by": "accompanied_by"}


CERTIFICATE_REFUSED = "该编号不是本申请人已出具的相应村委会证明（意见），请核对证明上的办件编号"
# what the page says (in the catalogue's Chinese) for the API's refusal of a field it has
_API_MESSAGES = {"id_number": "证件号码无效：请核对居民身份证号码（出生日期、校验位）或统一社会信用代码",
                 "phone": "请填写申请人的手机号码：短信通知和办件查询都要用到它", "f": "请按本事项申请表的要求填写此项",
                 "agent": "代办员不存在或不能代办本事项", "project_code": "项目代码无效或已过期，请核对",
                 "refusal_reasons": "理由不超过10条，每条不超过500字",
                 "accompanied_by": "带领的代办员不存在，或本事项不是须本人到场的事项"}


async def _clerk(request: Request) -> Person | Response:
    return await signed_in_at(request, CLERKS, "本页面供受理人员使用",
                              "受理台供窗口、受理部和便民服务室的受理人员使用。您登录的岗位不办理受理。")


def _not_yours(request: Request):
    return not_yours(request, NOT_YOURS)


async def home(request: Request):
    clerk = await _clerk(request)
    if isinstance(clerk, Response):
        return clerk
    query = request.query_params.get("q", "").strip()[:50]
    reply = await clerk.call(clerk.front.apis.intake.ListItems, intake.ListItemsRequest(
        query=query, page_size=PAGE_SIZE, page_token=request.query_params.get("page", "")[:200]))
    return clerk.page("desk.html", query=query, items=reply.items, total=reply.total,
                      next_page=reply.next_page_token, duty=await _room_duty(clerk))


async def _room_duty(clerk: Person):
    """Who is on duty at the clerk's village room today (村干部轮流值班); None at a centre's desk."""
    place = clerk.front.org.organisation(clerk.session.organisation)
    if place is None or place.kind != OrgKind.VILLAGE_ROOM:
        return None
    return await clerk.call(clerk.front.apis.identity.GetDuty, ipb.GetDutyRequest(organisation=place.code))


async def _item(clerk: Person, code: str):
    try:
        return await clerk.call(clerk.front.apis.intake.GetItem, intake.GetItemRequest(code=code[:50]))
    except ApiError as error:
        if error.code in ("NOT_FOUND", "INVALID_ARGUMENT"):
            return None
        raise


def _agents(clerk: Person) -> list:
    """The proxy agents who may bring cases here (代办制): any of the county's at a county office
    (township agents carry county matters up); at a township, its own and its village rooms'; at a
    village room, the room's."""
    chart, office = clerk.front.org, clerk.organisation
    if office is None:
        return []
    if office.level == Level.COUNTY:
        return list(chart.agents)
    centre = chart.centre_of(office).code
    return [a for a in chart.agents
            if a.organisation == centre or ((o := chart.organisation(a.organisation)) and o.parent == centre)]


def _channel(clerk: Person, proxy: bool) -> int:
    if proxy:
        return intake.PROXY_AGENT
    office = clerk.organisation
    return intake.VILLAGE_ROOM if office is not None and office.kind == OrgKind.VILLAGE_ROOM else intake.WINDOW


async def apply(request: Request):
    """The application form of one item, and the clerk's answer to it."""
    clerk = await _clerk(request)
    if isinstance(clerk, Response):
        return clerk
    item = await _item(clerk, request.path_params["code"])
    if item is None:
        return render(request, "error.html", status=404, title="没有这个事项", text="该事项不存在或已停止办理。")
    page = dict(item=item, agents=_agents(clerk), organisation=clerk.session.organisation)
    if request.method == "GET":
        values = {"request_id": uuid.uuid4().hex, "answer": "accept"}
        values |= {f"copies_{m.code}": str(m.copies) for m in item.materials}
        return clerk.page("desk_apply.html", form=forms.Form(values), **page)
    data = await posted(request, clerk.session.csrf)
    if data is None:
        return expired_form(request)
    application = forms.application_form(data, item, item.agent_may_carry)
    form = application.form
    form.values["request_id"] = form.values["request_id"][:64] or uuid.uuid4().hex
    if not form.ok:
        return clerk.page("desk_apply.html", status=400, form=form, **page)
    v = form.values
    proxy = bool(v["proxy"])
    submit = intake.SubmitRequest(
        request_id=f"desk-{v['request_id']}", item_code=item.code, channel=_channel(clerk, proxy),
        # the form says which organisation it accepts for; the API refuses any but the clerk's own
        organisation=str(data.get("organisation", "")).strip()[:64],
        first_clerk=clerk.session.staff_number, agent=v["agent"] if proxy else "",
        consent_ref=v["consent_ref"] if proxy else "",
        applicant=intake.Applicant(name=v["applicant_name"], id_number=v["id_number"],
                                   phone=v["phone"].replace(" ", "").replace("-", ""), email=v["email"]),
        materials=[intake.ProvidedMaterial(code=code, defect=defect, certificate=application.certificates.get(code, ""))
                   for code, defect in application.materials],
        form=application.fields, project_code=v["project_code"], commitment_signed=bool(v["commitment"]),
        refusal_reasons=application.reasons if v["answer"] == "refuse" else [],
        consultation=v["answer"] == "consult", accompanied_by="" if proxy else v["accompanied_by"][:64])
    try:
        receipt = await clerk.call(clerk.front.apis.intake.Submit, submit)
    except ApiError as error:
        if error.code == "PERMISSION_DENIED":
            return _not_yours(request)
        if error.code != "INVALID_ARGUMENT":
            raise
        sent = [code for code, _ in application.materials]
        for field, reason in error.fields:
            name = _API_FIELDS.get(field) or (f"f_{field[5:]}" if field.startswith("form.") else None)
            if field.startswith("materials[") and field.endswith("].certificate"):  # a cited 村委会证明 refused
                index = field[len("materials["):-len("].certificate")]
                name = f"cert_{sent[int(index)]}" if index.isdigit() and int(index) < len(sent) else None
                if name:
                    form.errors.setdefault(name, CERTIFICATE_REFUSED)
                    continue
            if name in form.values or name == "answer":
                form.errors.setdefault(name, _API_MESSAGES.get(name.split("_")[0] if name.startswith("f_") else name,
                                                               reason))
            elif field == "organisation":
                return _not_yours(request)
        problem = None if form.errors else i18n.said("受理系统未接受这份申请：%(why)s", why=error.message)
        return clerk.page("desk_apply.html", status=400, form=form, problem=problem, **page)
    if receipt.status == intake.CONSULTED:
        return clerk.page("desk_consulted.html", item=item, receipt=receipt)
    return RedirectResponse(f"/desk/cases/{receipt.case_number}", status_code=303)


async def _case(clerk: Person, number: str):
    """The case as its clerks see it; None when it is not this organisation's or does not exist."""
    if not forms.CASE_NUMBER.fullmatch(number):
        return None
    try:
        return await clerk.call(clerk.front.apis.intake.GetCase, intake.GetCaseRequest(case_number=number))
    except ApiError as error:
        if error.code in ("NOT_FOUND", "PERMISSION_DENIED", "INVALID_ARGUMENT"):
            return None
        raise


def _missing(request: Request):
    return render(request, "error.html", status=404, title="没有这个办件",
                  text="没有找到这个办件，或它不是本单位受理的。")


async def case_page(request: Request, fee_form=None, notice: str | None = None, status: int = 200,
                    spot_form=None):
    """The clerk's answer for one case: what was decided, the documents to print, the fee, the
    materials still owed, the rating invitation; at a village room, the decision on the spot of its
    village committee's matter (village.py)."""
    clerk = await _clerk(request)
    if isinstance(clerk, Response):
        return clerk
    case = await _case(clerk, request.path_params["number"])
    if case is None:
        return _missing(request)
    item = await _item(clerk, case.item_code)
    spot = village.settles_here(item, case, clerk.session.organisation)
    fee_form = fee_form or forms.Form({"amount_yuan": case.fee_yuan, "request_id": uuid.uuid4().hex})
    return clerk.page("desk_case.html", status=status, case=case,
                      docs=documents.documents_of(case, village=_village(item)), fee_form=fee_form, notice=notice,
                      paired=await clerk.front.pads.paired(clerk.session.organisation),
                      spot_form=(spot_form or village.blank(item)) if spot else None)


def _village(item) -> bool:
    """A village committee's certificate or opinion (村委会证明、意见), decided at its room."""
    return item is not None and item.decided_at == village.VILLAGE


async def document(request: Request):
    """A printed document of a case: the page (print it from the browser), or its PDF."""
    clerk = await _clerk(request)
    if isinstance(clerk, Response):
        return clerk
    slug, _, suffix = request.path_params["doc"].partition(".")
    doc = documents.DOCUMENTS.get(slug)
    case = await _case(clerk, request.path_params["number"])
    item = await _item(clerk, case.item_code) if case is not None else None
    if case is None or doc is None or doc not in documents.documents_of(case, village=_village(item)) \
            or suffix not in ("", "pdf"):
        return _missing(request)
    rating_url = clerk.front.links.url(case.case_number)
    agent = clerk.front.org.agent(case.agent) if case.agent else None
    context = dict(doc=doc, case=case, agent_name=agent.name if agent else case.agent, material_names={m.code: m.name for m in item.materials} if item else {}, qr=documents.qr_svg(rating_url), rating_url=rating_url,
                   window=clerk.organisation, clerk_name=clerk.session.person_name,
                   printed_on=local_day(clerk.front.now()), decision=village.decision_of(case), form=dict(case.form))
    if not suffix:
        return clerk.page(doc.template, pdf=False, **context)
    page = clerk.page(doc.template, pdf=True, **context)
    body = await anyio.to_thread.run_sync(documents.pdf, page.body.decode())
    return Response(body, media_type="application/pdf", headers={
        "content-disposition": f'inline; filename="{case.case_number}-{doc.slug}.pdf"'})


@staff_act(_clerk)
async def record_fee(request: Request, clerk, data):
    """The fee collected once (一次性收费) and the number of its receipt (收费票据)."""
    case = await _case(clerk, request.path_params["number"])
    if case is None:
        return _missing(request)
    form = forms.fee_form(data, case.fee_yuan)
    if not form.ok:
        return await case_page(request, fee_form=form, status=400)
    v = form.values
    try:
        await clerk.call(clerk.front.apis.intake.RecordFee, intake.RecordFeeRequest(
            request_id=f"desk-{v['request_id'][:64] or uuid.uuid4().hex}", case_number=case.case_number,
            amount_yuan=v["amount_yuan"], receipt_number=v["receipt_number"],
            reduction_reason=v["reduction_reason"]))
    except ApiError as error:
        if error.code == "INVALID_ARGUMENT":
            form.errors.update({f: r for f, r in error.fields if f in form.values} or {"amount_yuan": error.message})
            return await case_page(request, fee_form=form, status=400)
        if error.code == "FAILED_PRECONDITION":
            once = "already collected" in error.message
            return await case_page(request, status=409, notice="本件已收费，不能重复收费（一次性收费）" if once
                                   else "本件现在不能登记收费（未受理或本事项不收费）")
        if error.code == "PERMISSION_DENIED":
            return _not_yours(request)
        raise
    return RedirectResponse(f"/desk/cases/{case.case_number}", status_code=303)


@staff_act(_clerk)
async def invite(request: Request, clerk, data):
    """Invite the applicant to rate the acceptance just done on this window's pad."""
    case = await _case(clerk, request.path_params["number"])
    if case is None:
        return _missing(request)
    front = clerk.front
    if not await front.pads.paired(clerk.session.organisation):
        return await case_page(request, notice="本窗口还没有配对评价器，请联系信息中心", status=409)
    await front.pads.invite(clerk.session.organisation, case.case_number, ACCEPTANCE, clerk.session.staff_number,
                            front.now())
    return await case_page(request, notice="已邀请申请人在评价器上评价本次受理")


def case_number_in(text: str, links) -> str | None:
    """The case number typed, or read by a scanner from the receipt's QR code (the case's rating
    link, which names it); None if neither."""
    text = text.strip()
    if forms.CASE_NUMBER.fullmatch(text):
        return text
    token = text.rstrip("/").rpartition("/rate/")[2] if "/rate/" in text else ""
    try:
        return links.case_named(token) if token else None
    except BadLink:
        return None


async def supply(request: Request):
    """Materials brought later (补齐、补正、容缺后补), by case number typed or scanned."""
    clerk = await _clerk(request)
    if isinstance(clerk, Response):
        return clerk
    text = request.query_params.get("case", "")[:500]
    if request.method == "GET" and not text:
        return clerk.page("desk_supply.html", form=forms.Form({"case": ""}), case=None, owed=[])
    data = await posted(request, clerk.session.csrf) if request.method == "POST" else None
    if request.method == "POST" and data is None:
        return expired_form(request)
    number = case_number_in(str(data.get("case_number", "")) if data else text, clerk.front.links)
    case = await _case(clerk, number) if number else None
    if case is None:
        form = forms.Form({"case": text}, {"case": "没有找到这个办件：请输入回执上的15位办件编号，或扫描回执上的二维码"})
        return clerk.page("desk_supply.html", status=404, form=form, case=None, owed=[])
    owed = list(case.owed)
    if data is None:
        return clerk.page("desk_supply.html", form=forms.Form({"case": case.case_number}), case=case, owed=owed)
    form, chosen = forms.supply_form(data, [material.code for material in owed])
    if not form.ok:
        return clerk.page("desk_supply.html", status=400, form=form, case=case, owed=owed)
    try:
        await clerk.call(clerk.front.apis.intake.SupplyMaterials, intake.SupplyMaterialsRequest(
            case_number=case.case_number, clerk=clerk.session.staff_number,
            materials=[intake.ProvidedMaterial(code=code) for code in chosen]))
    except ApiError as error:
        if error.code in ("FAILED_PRECONDITION", "INVALID_ARGUMENT"):
            form.errors["material"] = error.message or "这些材料现在不能补交"
            return clerk.page("desk_supply.html", status=409, form=form, case=case, owed=owed)
        if error.code == "PERMISSION_DENIED":
            return _not_yours(request)
        raise
    return RedirectResponse(f"/desk/cases/{case.case_number}", status_code=303)


async def today(request: Request):
    """My window today (本窗口今日): the cases accepted here today, and those waiting for materials."""
    clerk = await _clerk(request)
    if isinstance(clerk, Response):
        return clerk
    day = local_day(clerk.front.now())
    accepted_token = request.query_params.get("page", "")[:200]
    waiting_token = request.query_params.get("waiting_page", "")[:200]
    accepted = await clerk.call(clerk.front.apis.intake.ListCases, intake.ListCasesRequest(
        accepted_on=day.isoformat(), page_size=PAGE_SIZE, page_token=accepted_token))
    waiting = await clerk.call(clerk.front.apis.intake.ListCases, intake.ListCasesRequest(
        waiting=True, page_size=PAGE_SIZE, page_token=waiting_token))
    return clerk.page("desk_today.html", day=day, accepted=accepted, waiting=waiting,
                 accepted_token=accepted_token, waiting_token=waiting_token)


ROUTES = [
    *village.ROUTES,  # the village room's decision on the spot, before the documents' /{doc}
    Route("/desk", home),
    Route("/desk/apply/{code}", apply, methods=["GET", "POST"]),
    Route("/desk/cases/{number}", case_page),
    Route("/desk/cases/{number}/fee", record_fee, methods=["POST"]),
    Route("/desk/cases/{number}/invite", invite, methods=["POST"]),
    Route("/desk/cases/{number}/{doc}", document),
    Route("/desk/supply", supply, methods=["GET", "POST"]),
    Route("/desk/today", today),
]
