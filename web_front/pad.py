"""The rating pad's pages (评价器): pairing once with the code county IT gives, then five large
buttons while a clerk of its window invites a rating, a thank-you, and back to waiting. A pad
rates only its own window's invited acts (see pads.py); the rating goes to the supervision
service as an on-site rating of that act, naming the pad's window.

A hall board pairs the same way at /board/pair, to a centre; /board then shows that centre."""
from __future__ import annotations

import asyncio

from onewindow.supervision.v1 import supervision_pb2 as supervision
from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from . import forms, labels
from .apis import ApiError
from .app import client, cookie_name, expired_form, front_of, posted, render, secure
from .pads import BOARD, PAD, Pad, PadRefused

DEVICE_COOKIE = {PAD: "pad", BOARD: "board"}
SCREEN = {PAD: "/pad", BOARD: "/board"}  # where each kind goes once paired
DEVICE_DAYS = 400  # the device key lasts until IT unpairs the pad; browsers cap a cookie near this
POLL_SECONDS = 1.0  # how often an open pad page asks whether it has been invited


async def _pad(request: Request) -> Pad | None:
    return await front_of(request).pads.find(request.cookies.get(cookie_name(request, DEVICE_COOKIE[PAD]), ""))


async def paired_board(request: Request) -> Pad | None:
    """The hall board this browser is, if county IT paired it: its centre is what /board shows."""
    return await front_of(request).pads.find(request.cookies.get(cookie_name(request, DEVICE_COOKIE[BOARD]), ""),
                                             BOARD)


def _name(pad: Pad, request: Request) -> str:
    office = front_of(request).org.organisation(pad.organisation)
    return office.name if office else pad.organisation


async def screen(request: Request):
    """What the pad shows now: the pairing form, waiting, or the five buttons."""
    pad = await _pad(request)
    if pad is None:
        return render(request, "pad_pair.html", form=forms.Form({"code": ""}), kind=PAD)
    front = front_of(request)
    invitation = await front.pads.open_invitation(pad, front.now())
    return render(request, "pad.html", pad=pad, window=_name(pad, request), invitation=invitation,
                  levels=labels.RATING_LEVELS)


async def board_pairing(request: Request):
    return render(request, "pad_pair.html", form=forms.Form({"code": ""}), kind=BOARD)


async def pair(request: Request, kind: str = PAD):
    """A pad's, or a board's, one-time code typed: the device key in an HttpOnly cookie."""
    data = await posted(request)
    if data is None:
        return expired_form(request)
    form = forms.Form({"code": str(data.get("code", "")).strip()[:20]})
    form.need("code", form.values["code"].isdigit() and len(form.values["code"]) == 8,
              "请填写信息中心给出的8位配对码")
    front = front_of(request)
    paired = await front.pads.pair(form.values["code"], front.now(), kind) if form.ok else None
    if paired is None:
        form.need("code", False, "配对码不正确、已使用或已过期，请向信息中心索取新的配对码")
        return render(request, "pad_pair.html", status=400, form=form, kind=kind)
    _, device = paired
    response = RedirectResponse(SCREEN[kind], status_code=303)
    response.set_cookie(cookie_name(request, DEVICE_COOKIE[kind]), device, max_age=DEVICE_DAYS * 86400, path="/",
                        secure=secure(request), httponly=True, samesite="strict")
    return response


async def pair_board(request: Request):
    return await pair(request, BOARD)


async def rate(request: Request):
    """The applicant's touch on one of the five buttons."""
    pad = await _pad(request)
    if pad is None:
        return render(request, "error.html", status=403, title="评价器未配对", text="请联系信息中心为本评价器配对窗口。")
    data = await posted(request)
    if data is None:
        return expired_form(request)
    front = front_of(request)
    level = str(data.get("level", ""))
    invitation_id = str(data.get("invitation", ""))
    try:
        if level not in {"1", "2", "3", "4", "5"} or not invitation_id.isdigit():
            raise PadRefused("not_invited")
        invitation = await front.pads.claim(pad, int(invitation_id), front.now())
    except PadRefused as refused:
        if refused.reason == "other_window":
            return render(request, "error.html", status=403, title="不能评价",
                          text="本评价器只评价本窗口的服务。")
        return render(request, "error.html", status=409, title="没有待评价的服务",
                      text="工作人员邀请评价后，才能在评价器上评价。")
    try:
        await front.apis.call(front.apis.supervision.Rate, supervision.RateRequest(
            request_id=f"pad-{invitation.id}", case_number=invitation.case_number, channel=supervision.ON_SITE,
            act=invitation.act, level=int(level), rater="applicant", window=pad.organisation),
            client(request), as_front=True)
    except ApiError as error:
        if error.code not in ("ALREADY_EXISTS", "FAILED_PRECONDITION"):  # rated already: the pad resets
            raise
    await front.pads.rated(pad, invitation, int(level), front.now())
    return render(request, "pad_thanks.html", window=_name(pad, request))


async def events(request: Request):
    """A live pad: an event whenever what it should show changes (invited, rated, expired)."""
    pad = await _pad(request)
    if pad is None:
        return RedirectResponse("/pad", status_code=303)
    front = front_of(request)

    async def changes():
        shown = -1
        while True:
            invitation = await front.pads.open_invitation(pad, front.now())
            current = invitation.id if invitation else 0
            if current != shown:
                if shown != -1:
                    yield {"event": "pad", "data": str(current), "retry": 2000}
                shown = current
            await asyncio.sleep(POLL_SECONDS)

    return EventSourceResponse(changes(), ping=15)


ROUTES = [
    Route("/pad", screen),
    Route("/pad/pair", pair, methods=["POST"]),
    Route("/pad/rate", rate, methods=["POST"]),
    Route("/pad/events", events),
    Route("/board/pair", board_pairing),
    Route("/board/pair", pair_board, methods=["POST"]),
]
