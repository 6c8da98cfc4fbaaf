"""My duties (督办整改): what the supervision office and the public ask of a window or office, each
with its own deadline — instructions (督办) to reply to, bad ratings to rectify (or appeal), and
complaints to answer — for the people of its posts: a department's handlers, approvers and checkers
(all three), and the clerks of a desk, window or village room (the rectifications of their
acceptance acts; warnings and complaints are the department's).

Every act goes to the supervision API with the person's own credential; the API records who did it
and decides whose item it is."""
from __future__ import annotations

from onewindow.supervision.v1 import supervision_pb2 as spb
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hall.staff import PostKind

from . import forms, i18n
from .apis import ApiError
from .app import render, staff_act
from .oversight import every_row, name_of
from .staff import Person, signed_in_at

DEPARTMENT_POSTS = {PostKind.HANDLER.value, PostKind.APPROVER.value, PostKind.CHECKER.value}
CLERK_POSTS = {PostKind.ACCEPTANCE_CLERK.value, PostKind.WINDOW_CLERK.value}
MOST = 200  # items of each kind shown, the nearest deadline first
RESOLUTIONS = {"fixed": spb.FIXED, "ledger": spb.LEDGER, "explained": spb.EXPLAINED}
FIELD_ERRORS = {
    "reply": "请写明办理情况（1000字以内）",
    "resolution": "请选择整改方式",
    "note": "请写明整改措施或解释（1000字以内）",
    "reason": "请写明申诉理由（1000字以内）",
    "answer": "请写明答复内容（2000字以内）",
}
# each act: the API method, the form's fields, and the request it makes
ACTS = {
    "reply": ("ReplyToInstruction", ("reply",),
              lambda n, v: spb.ReplyToInstructionRequest(warning_id=n, reply=v["reply"])),
    "rectify": ("Rectify", ("resolution", "note"),
                lambda n, v: spb.RectifyRequest(rating_id=n, resolution=RESOLUTIONS[v["resolution"]], note=v["note"])),
    "appeal": ("Appeal", ("reason",), lambda n, v: spb.AppealRequest(rating_id=n, reason=v["reason"])),
    "answer": ("AnswerComplaint", ("answer",),
               lambda n, v: spb.AnswerComplaintRequest(complaint_id=n, answer=v["answer"])),
}
LIMITS = {"reply": 1000, "note": 1000, "reason": 1000, "answer": 2000}


async def _person(request: Request) -> Person | Response:
    return await signed_in_at(request, DEPARTMENT_POSTS | CLERK_POSTS, "本页面供窗口和办理室人员使用",
                              "督办答复、差评整改和投诉答复由被督办、被评价的窗口和办理室办理。")


async def duties(request: Request, forms_shown: dict | None = None, problem: str | None = None, status: int = 200):
    person = await _person(request)
    if isinstance(person, Response):
        return person
    sup, session = person.front.apis.supervision, person.session
    department = session.post_kind in DEPARTMENT_POSTS
    instructions, complaints = [], []
    if department:
        instructions = await every_row(person, sup.ListWarnings, spb.ListWarningsRequest(
            filters=spb.WarningFilters(instructed_unreplied=True), page_size=200), "warnings", MOST)
        complaints = await every_row(person, sup.ListComplaints,
                                     spb.ListComplaintsRequest(open_only=True, page_size=200), "complaints", MOST)
    items = await every_row(person, sup.ListRectifications,
                            spb.ListRectificationsRequest(open_only=True, page_size=200), "items", MOST)
    # a department's items are its windows' and offices': this page shows the ones of my window or office
    here = session.organisation
    items = [r for r in items if r.by_organisation in ("", here) or r.organisation == here]
    return person.page("duties.html", status=status, instructions=sorted(instructions, key=lambda w: w.reply_by),
                       items=sorted(items, key=lambda r: r.deadline),
                       complaints=sorted(complaints, key=lambda c: c.deadline),
                       department=department, forms=forms_shown or {}, problem=problem, blank=forms.Form({}),
                       resolutions=RESOLUTIONS, name_of=lambda code: name_of(person.front.org, code))


@staff_act(_person)
async def act(request: Request, person, data):
    """One answer from the duties page: a reply to 督办, a rectification, an appeal, a complaint's answer."""
    action, number = request.path_params["action"], int(request.path_params["number"])
    if action not in ACTS:
        return render(request, "error.html", status=404, title="没有这个页面", text="没有找到这个页面。")
    method, names, build = ACTS[action]
    form = forms.Form({n: str(data.get(n, "")).strip() for n in names})
    v = form.values
    for name in names:
        if name == "resolution":
            form.need(name, v[name] in RESOLUTIONS, FIELD_ERRORS[name])
        else:
            form.need(name, 0 < len(v[name]) <= LIMITS[name], FIELD_ERRORS[name])
    key = (action, number)
    if not form.ok:
        return await duties(request, {key: form}, status=400)
    try:
        await person.call(getattr(person.front.apis.supervision, method), build(number, v))
    except ApiError as error:
        if error.code == "PERMISSION_DENIED":
            return render(request, "error.html", status=403, title="不能办理", text="这一项不是本窗口或本单位的。")
        if error.code == "NOT_FOUND":
            return render(request, "error.html", status=404, title="没有这一项", text="没有找到这一项。")
        if error.code not in ("INVALID_ARGUMENT", "FAILED_PRECONDITION"):
            raise
        for path, _ in error.fields:
            name = path.rpartition(".")[2]
            if name in FIELD_ERRORS and name in v:
                form.errors.setdefault(name, FIELD_ERRORS[name])
        problem = None if form.errors else i18n.said("未能办理：%(why)s", why=error.message)
        return await duties(request, {key: form}, problem, status=400)
    return RedirectResponse("/duties?done=" + action, status_code=303)


ROUTES = [
    Route("/duties", duties),
    Route("/duties/{action}/{number:int}", act, methods=["POST"]),
]
