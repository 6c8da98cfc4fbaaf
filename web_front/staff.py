"""Sign-in for the hall's people (the pages of their posts build on it): sign in at a post, change
the first password, see who and where I am, sign out. Over plain HTTP only localhost may sign in."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from onewindow.identity.v1 import identity_pb2 as identity
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hall.staff import PostKind

from . import forms
from .apis import ApiError
from .app import client, cookie_name, expired_form, front_of, local, posted, render, secure, set_cookie
from .sessions import Session

RENEW_BEFORE = dt.timedelta(minutes=3)  # a credential this close to its end is renewed at the next page


async def current_session(request: Request) -> tuple[str, Session] | None:
    """The signed-in session of this browser, its credential renewed when near its end."""
    session_id = request.cookies.get(cookie_name(request, "session"), "")
    if not session_id:
        return None
    front = front_of(request)
    now = front.now()
    session = await front.sessions.find(session_id, now)
    if session is None:
        return None
    if session.credential_expires - now < RENEW_BEFORE:
        try:
            renewed = await front.apis.call(front.apis.identity.Refresh, identity.RefreshRequest(), client(request),
                                            credential=session.credential)
        except ApiError as error:
            if error.code in ("UNAUTHENTICATED", "PERMISSION_DENIED"):  # revoked, post no longer held
                await front.sessions.close(session_id)
                return None
            raise
        expires = dt.datetime.fromisoformat(renewed.expires_at)
        await front.sessions.renew(session_id, renewed.credential, expires)
        session = Session(**{**session.__dict__, "credential": renewed.credential, "credential_expires": expires})
    return session_id, session


class Person:
    """The person signed in at a post for this request, and what their pages call with their own
    credential (the APIs decide what the post may do; a page only what to show)."""

    def __init__(self, request: Request, session: Session):
        self.request, self.session = request, session
        self.front = front_of(request)

    @property
    def organisation(self):
        return self.front.org.organisation(self.session.organisation)

    async def call(self, method, message):
        return await self.front.apis.call(method, message, client(self.request), credential=self.session.credential)

    def page(self, template: str, status: int = 200, **context):
        """A page of the post's work: the staff navigation, the session's CSRF token, the labels."""
        from . import labels

        return render(self.request, template, status=status, session=self.session, csrf=self.session.csrf,
                      labels=labels, **context)


async def signed_in_at(request: Request, kinds: set[str], title: str, text: str) -> Person | Response:
    """The person signed in at one of the post `kinds`, or the answer for anyone else: no session,
    sign in first (and come back); another post, 403 with `title` and `text`."""
    found = await current_session(request)
    if found is None:
        return RedirectResponse(f"/sign-in?next={request.url.path}", status_code=303)
    _, session = found
    if session.post_kind not in kinds:
        return render(request, "error.html", status=403, title=title, text=text)
    return Person(request, session)


def not_yours(request: Request, text: str):
    """Another organisation's case or task: 403, nothing done."""
    return render(request, "error.html", status=403, title="不能办理", text=text)


def _insecure(request: Request) -> bool:
    return not secure(request) and not local(request)


def _refuse_insecure(request: Request):
    return render(request, "error.html", status=403, title="请使用安全连接登录",
                  text="为保护密码，只能通过 HTTPS 登录（本机除外）。请使用 https:// 开头的地址。")


def home_of(post_id: str) -> str:
    """The page a person's post works on: the desk for clerks, the worklist for handlers, approvers
    and checkers, else their post's page."""
    kind = post_id.split("/")[1] if post_id.count("/") >= 2 else ""
    if kind in (PostKind.ACCEPTANCE_CLERK, PostKind.WINDOW_CLERK):
        return "/desk"
    if kind == PostKind.SUPERVISION_OFFICER:
        return "/office"
    if kind == PostKind.LEADER:
        return "/leaders"
    if kind == PostKind.CENTRE_MANAGER:
        return "/centre"
    if kind == PostKind.IT_ADMIN:
        return "/it"
    if kind == PostKind.PROXY_AGENT:
        return "/agent"
    return "/work" if kind in (PostKind.HANDLER, PostKind.APPROVER, PostKind.CHECKER) else "/me"


def _next(value: str) -> str:
    """A page of this site to go on to after sign-in (never another site's)."""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else ""


async def _start(request: Request, signed_in, next_page: str = "") -> RedirectResponse:
    front = front_of(request)
    session_id, _ = await front.sessions.open(signed_in, front.now())
    response = RedirectResponse(_next(next_page) or home_of(signed_in.post.post_id), status_code=303)
    set_cookie(request, response, "session", session_id)
    return response


@dataclass(frozen=True)
class PostChoice:
    post_id: str
    place: str  # the organisation's name
    post: str  # the kind of post, as the register calls it (a msgid)
    seat: str


def _posts(request: Request, error: ApiError) -> list[PostChoice]:
    """Each post identity lists when a person holding several must choose one, with its names."""
    org = front_of(request).org
    for field, reason in error.fields:
        if field == "post_id" and ":" in reason:
            return [_choice(org, post_id) for post_id in (p.strip() for p in reason.partition(":")[2].split(","))
                    if post_id]
    return []


def _choice(org, post_id: str) -> PostChoice:
    code, _, rest = post_id.partition("/")
    kind, _, seat = rest.partition("/")
    organisation = org.organisation(code)
    try:
        post = PostKind(kind).label
    except ValueError:
        post = kind
    return PostChoice(post_id, organisation.name if organisation else code, post, seat)


async def sign_in(request: Request):
    if _insecure(request):
        return _refuse_insecure(request)
    if request.method == "GET":
        if found := await current_session(request):
            return RedirectResponse(home_of(found[1].post_id), status_code=303)
        return render(request, "sign_in.html", posts=[], form=forms.Form({
            "staff_number": "", "post_id": "", "next": _next(request.query_params.get("next", "")[:200])}))
    data = await posted(request)
    if data is None:
        return expired_form(request)
    form = forms.sign_in_form(data)
    if not form.ok:
        return render(request, "sign_in.html", status=400, form=form, posts=[])
    front = front_of(request)
    v = form.values
    try:
        signed_in = await front.apis.call(front.apis.identity.SignIn, identity.SignInRequest(
            staff_number=v["staff_number"], password=v["password"], post_id=v["post_id"]), client(request))
    except ApiError as error:
        if error.code == "FAILED_PRECONDITION":  # a first password: change it now
            return render(request, "password.html", first=True, form=forms.Form({
                "staff_number": v["staff_number"], "post_id": v["post_id"], "next": _next(v["next"])}))
        if error.code == "INVALID_ARGUMENT" and _posts(request, error):
            form.errors["post_id"] = "您有多个岗位，请选择本次登录的岗位"
            return render(request, "sign_in.html", status=400, form=form, posts=_posts(request, error))
        if error.code in ("UNAUTHENTICATED", "RESOURCE_EXHAUSTED", "INVALID_ARGUMENT"):
            return render(request, "sign_in.html", status=401, form=form, posts=[],
                          problem="工号或密码不正确，或账号暂时无法登录。多次输错后须等待一段时间再试。")
        raise
    return await _start(request, signed_in, form.values["next"])


async def change_password(request: Request):
    if _insecure(request):
        return _refuse_insecure(request)
    if request.method == "GET":
        return render(request, "password.html", form=forms.Form({"staff_number": "", "post_id": ""}), first=False)
    data = await posted(request)
    if data is None:
        return expired_form(request)
    form = forms.password_form(data)
    first = data.get("first") == "1"
    if not form.ok:
        return render(request, "password.html", status=400, form=form, first=first, posts=[])
    front = front_of(request)
    v = form.values
    try:
        signed_in = await front.apis.call(front.apis.identity.ChangePassword, identity.ChangePasswordRequest(
            staff_number=v["staff_number"], current_password=v["current_password"], new_password=v["new_password"],
            post_id=v["post_id"]), client(request))
    except ApiError as error:
        if error.code == "INVALID_ARGUMENT":
            fields = {f for f, _ in error.fields}
            if "new_password" in fields:
                form.errors["new_password"] = "新密码不符合要求：至少10个字符，须同时含字母和数字，不得包含工号，且不同于当前密码"
            if _posts(request, error):
                form.errors["post_id"] = "您有多个岗位，请选择本次登录的岗位"
            return render(request, "password.html", status=400, form=form, first=first, posts=_posts(request, error))
        if error.code in ("UNAUTHENTICATED", "RESOURCE_EXHAUSTED"):
            return render(request, "password.html", status=401, form=form, first=first,
                          problem="工号或当前密码不正确，或账号暂时无法登录。")
        raise
    return await _start(request, signed_in, form.values["next"])


async def me(request: Request):
    found = await current_session(request)
    if found is None:
        return RedirectResponse("/sign-in", status_code=303)
    _, session = found
    return render(request, "me.html", session=session, csrf=session.csrf)


async def sign_out(request: Request):
    found = await current_session(request)
    if found is not None:
        session_id, session = found
        if await posted(request, session.csrf) is None:
            return expired_form(request)
        await front_of(request).sessions.close(session_id)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(cookie_name(request, "session"), path="/", secure=secure(request), httponly=True)
    return response


ROUTES = [
    Route("/sign-in", sign_in, methods=["GET", "POST"]),
    Route("/password", change_password, methods=["GET", "POST"]),
    Route("/me", me),
    Route("/sign-out", sign_out, methods=["POST"]),
]
