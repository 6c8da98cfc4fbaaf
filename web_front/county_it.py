"""County IT's pages (信息中心): the staff register (persons, their posts, A and B) searched, a
person's posts changed, their account unlocked, given a first password, revoked or reinstated; the
rating pads paired to windows, desks and village rooms, and the hall boards to centres.

The register is read and changed through the identity API (ListPersons, GetAccount, SetPosts):
identity writes the register file through the same validation every service loads it with, and a
refused change comes back field by field, the file untouched. Pads and boards are the web front's
own (`pads.py`, the same acts as `onewindow pads` and `onewindow boards`). A first password and a
pairing code are shown once, in the answer to the act that made them, and kept nowhere but as hashes."""
from __future__ import annotations

from urllib.parse import quote

from onewindow.identity.v1 import identity_pb2 as ipb
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hall.domain import OrgKind
from hall.staff import PostKind

from . import forms, i18n
from .apis import ApiError
from .app import render, staff_act
from .pads import BOARD
from .staff import Person, signed_in_at

ADMINS = {PostKind.IT_ADMIN.value}
PAGE_SIZE = 50
BLANK_ROWS = 2  # empty rows under a person's posts, to add a post
PAD_PLACES = (OrgKind.WINDOW, OrgKind.ACCEPTANCE_DESK, OrgKind.VILLAGE_ROOM)
POST_FIELDS = ("kind", "organisation", "seat", "holder", "agent")
POST_ERRORS = {
    "kind": "请选择岗位类别；该类岗位须设在相应的机构（如受理员在咨询受理部或村受理室）",
    "organisation": "机构代码须为组织架构中的机构",
    "seat": "席位为1至99的数字",
    "holder": "请选择A岗或B岗；同一岗位的A岗、B岗各只能一人，设B岗须先有A岗",
    "agent": "代办员须填写本机构在组织架构中的代办员代码；其他岗位不填",
    "posts": "至少保留一个岗位，且不得与名册中其他人员的岗位冲突：%(why)s",
}
DONE = {"unlock": "已解除锁定", "reinstate": "已恢复登录", "revoke": "已停用，其登录凭证数秒内全部失效",
        "posts": "岗位已写入名册，各系统数秒内生效", "unpair": "已解除配对"}


async def _admin(request: Request) -> Person | Response:
    return await signed_in_at(request, ADMINS, "本页面供信息中心使用",
                              "名册、账号、评价器和大屏由县信息中心管理。您登录的岗位没有这项职责。")


def _place(admin: Person, code: str) -> str:
    organisation = admin.front.org.organisation(code)
    return organisation.name if organisation else code


# --- the register -------------------------------------------------------------------------------

async def register(request: Request):
    admin = await _admin(request)
    if isinstance(admin, Response):
        return admin
    query = request.query_params.get("q", "").strip()[:64]
    token = request.query_params.get("after", "")[:8]
    try:
        reply = await admin.call(admin.front.apis.identity.ListPersons, ipb.ListPersonsRequest(
            query=query, page_size=PAGE_SIZE, page_token=token if token.isdigit() else ""))
    except ApiError as error:
        if error.code != "INVALID_ARGUMENT":
            raise
        reply = ipb.ListPersonsReply()
    return admin.page("it.html", accounts=reply.accounts, query=query, next_token=reply.next_page_token,
                      quoted=quote(query), place=lambda code: _place(admin, code))


async def _account(admin: Person, staff_number: str) -> ipb.Account | None:
    if not staff_number or len(staff_number) > 32:
        return None
    try:
        return await admin.call(admin.front.apis.identity.GetAccount, ipb.AccountRef(staff_number=staff_number))
    except ApiError as error:
        if error.code in ("NOT_FOUND", "INVALID_ARGUMENT"):
            return None
        raise


def _missing(request: Request):
    return render(request, "error.html", status=404, title="名册中没有此人", text="名册中没有这个工号。")


def posts_form(account: ipb.Account) -> forms.Form:
    """The person's posts as the page's rows, and empty rows to add one."""
    values = {}
    for j, post in enumerate(account.person.posts):
        values.update({f"kind-{j}": post.kind, f"organisation-{j}": post.organisation,
                       f"seat-{j}": post.post_id.rsplit("/", 1)[1], f"holder-{j}": post.holder,
                       f"agent-{j}": post.agent})
    return forms.Form(values)


async def person(request: Request, form: forms.Form | None = None, account: ipb.Account | None = None,
                 first_password: str = "", problem: str | None = None, status: int = 200,
                 revoke: forms.Form | None = None):
    admin = await _admin(request)
    if isinstance(admin, Response):
        return admin
    account = account or await _account(admin, request.path_params["staff_number"])
    if account is None:
        return _missing(request)
    form = form or posts_form(account)
    rows = max(len(account.person.posts), max((int(k.rpartition("-")[2]) + 1 for k in form.values
                                              if k.rpartition("-")[2].isdigit()), default=0)) + BLANK_ROWS
    return admin.page("it_person.html", status=status, account=account, form=form, rows=range(rows),
                      kinds=[(k.value, k.label) for k in PostKind], first_password=first_password, problem=problem,
                      place=lambda code: _place(admin, code), revoke=revoke or forms.Form({}),
                      own=account.person.staff_number == admin.session.staff_number,
                      done=DONE.get(request.query_params.get("done", "")))


@staff_act(_admin)
async def account_act(request: Request, admin, data):
    """Unlock, a first password, revoke or reinstate: identity's county IT acts."""
    staff_number, act = request.path_params["staff_number"], request.path_params["act"]
    account = await _account(admin, staff_number)
    if account is None or act not in ("unlock", "reset", "revoke", "reinstate"):
        return _missing(request)
    identity, ref = admin.front.apis.identity, ipb.AccountRef(staff_number=staff_number)
    if act == "reset":  # the first password is shown in this answer only: never stored, never in a URL
        reply = await admin.call(identity.ResetPassword, ref)
        return await person(request, account=reply.account, first_password=reply.first_password)
    if act == "revoke":
        reason = str(data.get("reason", "")).strip()
        form = forms.Form({"reason": reason})
        form.need("reason", 0 < len(reason) <= 500, "请写明停用原因（500字以内）")
        if form.ok:
            try:
                await admin.call(identity.Revoke, ipb.RevokeRequest(staff_number=staff_number, reason=reason))
            except ApiError as error:
                if error.code != "FAILED_PRECONDITION":
                    raise
                return await person(request, account=account, status=409, problem="不能停用自己的账号")
        else:
            return await person(request, account=account, status=400, revoke=form)
    else:
        await admin.call(identity.Unlock if act == "unlock" else identity.Reinstate, ref)
    return RedirectResponse(f"/it/persons/{staff_number}?done={act}", status_code=303)


def _rows(data) -> tuple[forms.Form, list[ipb.PostChange], list[int]]:
    """The posted rows: the form (values kept), the posts of the non-empty rows, their row numbers."""
    values = {k: str(v).strip()[:64] for k, v in data.items() if k.rpartition("-")[0] in POST_FIELDS
              and k.rpartition("-")[2].isdigit() and int(k.rpartition("-")[2]) < 40}
    form, posts, rows = forms.Form(values), [], []
    for j in sorted({int(k.rpartition("-")[2]) for k in values}):
        row = {name: values.get(f"{name}-{j}", "") for name in POST_FIELDS}
        if not row["kind"] and not row["organisation"]:
            continue  # an empty row, or a post taken away
        seat = row["seat"] or "1"
        form.need(f"seat-{j}", seat.isdigit() and 1 <= int(seat) <= 99, POST_ERRORS["seat"])
        form.need(f"kind-{j}", bool(row["kind"]), POST_ERRORS["kind"])
        form.need(f"organisation-{j}", bool(row["organisation"]), POST_ERRORS["organisation"])
        posts.append(ipb.PostChange(kind=row["kind"], organisation=row["organisation"],
                                    seat=int(seat) if seat.isdigit() and int(seat) < 100 else 0,
                                    holder=row["holder"] or "A", agent=row["agent"]))
        rows.append(j)
    return form, posts, rows


@staff_act(_admin)
async def change_posts(request: Request, admin, data):
    staff_number = request.path_params["staff_number"]
    account = await _account(admin, staff_number)
    if account is None:
        return _missing(request)
    form, posts, rows = _rows(data)
    if staff_number == admin.session.staff_number:  # as identity refuses it: another administrator's to do
        return await person(request, form=form, account=account, status=409, problem="自己的岗位须由另一位管理员修改")
    if not posts:
        form.errors["kind-0"] = POST_ERRORS["kind"]
    if not form.ok:
        return await person(request, form=form, account=account, status=400)
    try:
        await admin.call(admin.front.apis.identity.SetPosts, ipb.SetPostsRequest(staff_number=staff_number,
                                                                                 posts=posts))
    except ApiError as error:
        if error.code == "FAILED_PRECONDITION":
            return await person(request, form=form, account=account, status=409,
                                problem="名册在此处为只读，请在名册保存处修改")
        if error.code != "INVALID_ARGUMENT":
            raise
        problem = None
        for path, why in error.fields:
            head, _, name = path.partition(".")
            if head.startswith("posts[") and head[6:-1].isdigit() and int(head[6:-1]) < len(rows):
                field = f"{name or 'kind'}-{rows[int(head[6:-1])]}"
                form.errors.setdefault(field, POST_ERRORS.get(name or "kind", POST_ERRORS["kind"]))
            else:
                problem = i18n.said(POST_ERRORS["posts"], why=why)
        return await person(request, form=form, account=account, status=400, problem=problem)
    return RedirectResponse(f"/it/persons/{staff_number}?done=posts", status_code=303)


# --- the rating pads and the hall boards ----------------------------------------------------------

async def pads(request: Request, form: forms.Form | None = None, made: tuple | None = None, status: int = 200,
               board_form: forms.Form | None = None):
    admin = await _admin(request)
    if isinstance(admin, Response):
        return admin
    places = [o for o in admin.front.org.organisations if o.kind in PAD_PLACES]
    centres = [o for o in admin.front.org.organisations if o.kind == OrgKind.CENTRE]
    return admin.page("it_pads.html", status=status, pads=await admin.front.pads.all(), places=places,
                      centres=centres, form=form or forms.Form({}), board_form=board_form or forms.Form({}),
                      made=made, place=lambda code: _place(admin, code),
                      done=DONE.get(request.query_params.get("done", "")))


@staff_act(_admin)
async def pair(request: Request, admin, data):
    """A new pad of an organisation: its one-time pairing code, shown in this answer only."""
    form = forms.Form({n: str(data.get(n, "")).strip() for n in ("organisation", "name")})
    v = form.values
    place = admin.front.org.organisation(v["organisation"])
    form.need("organisation", place is not None and place.kind in PAD_PLACES, "请选择窗口、咨询受理部或村受理室")
    form.need("name", len(v["name"]) <= 50, "名称不超过50字")
    if not form.ok:
        return await pads(request, form, status=400)
    name = v["name"] or f"{place.name}评价器"
    pad_id, code = await admin.front.pads.make(place.code, name, admin.session.staff_number, admin.front.now())
    return await pads(request, made=(pad_id, name, code))


@staff_act(_admin)
async def pair_board(request: Request, admin, data):
    """A new hall board of a centre: its one-time pairing code, shown in this answer only."""
    form = forms.Form({n: str(data.get(n, "")).strip() for n in ("centre", "board_name")})
    v = form.values
    centre = admin.front.org.organisation(v["centre"])
    form.need("centre", centre is not None and centre.kind == OrgKind.CENTRE, "请选择服务中心")
    form.need("board_name", len(v["board_name"]) <= 50, "名称不超过50字")
    if not form.ok:
        return await pads(request, board_form=form, status=400)
    name = v["board_name"] or f"{centre.name}大屏"
    board_id, code = await admin.front.pads.make(centre.code, name, admin.session.staff_number, admin.front.now(),
                                                 BOARD)
    return await pads(request, made=(board_id, name, code, BOARD))


@staff_act(_admin)
async def unpair(request: Request, admin, data):
    pad_id = request.path_params["pad_id"]
    if not pad_id.isdigit() or len(pad_id) > 12 or not await admin.front.pads.unpair(int(pad_id), admin.front.now()):
        return render(request, "error.html", status=404, title="没有这个评价器或大屏",
                      text="没有找到这个评价器或大屏，或它已解除配对。")
    return RedirectResponse("/it/pads?done=unpair", status_code=303)


ROUTES = [
    Route("/it", register),
    Route("/it/persons/{staff_number}", person),
    Route("/it/persons/{staff_number}/posts", change_posts, methods=["POST"]),
    Route("/it/persons/{staff_number}/{act}", account_act, methods=["POST"]),
    Route("/it/pads", pads),
    Route("/it/pads", pair, methods=["POST"]),
    Route("/it/pads/{pad_id}/unpair", unpair, methods=["POST"]),
    Route("/it/boards", pair_board, methods=["POST"]),
]
