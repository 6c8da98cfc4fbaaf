"""The leaders' pages (带班领导, and the supervision office reading the same): the efficiency figures
for today, a month or any period, overall and by department, item, level, channel, centre's window
or person, drawn as bar charts on the server; and the monthly 通报 (printable on A4, and as PDF).

Leaders read. Their one act, signing the day's summary, is the supervision service's to record;
every other POST from a leader's session is refused by the pages of the other posts (and by the
APIs, whose roles give a leader nothing else)."""
from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import anyio
from onewindow.supervision.v1 import supervision_pb2 as spb
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hall.clock import local_day
from hall.staff import PostKind

from . import documents, i18n
from .apis import ApiError
from .app import expired_form, posted, render
from .oversight import bar_chart, every_row, month_of, month_period, name_of, percent, period_of
from .staff import Person, signed_in_at

READERS = {PostKind.LEADER.value, PostKind.SUPERVISION_OFFICER.value}
GROUPS = {"overall": spb.OVERALL, "department": spb.DEPARTMENT, "item": spb.ITEM, "level": spb.LEVEL,
          "channel": spb.CHANNEL, "centre": spb.CENTRE, "window": spb.WINDOW, "person": spb.PERSON}
# the counts whose cases can be listed (ListFigureCases); complaints are not by act (window, person, centre)
LISTED = {"accepted", "immediate", "concluded", "concluded_on_site", "concluded_on_time", "ratings", "dissatisfied",
          "complaints"}
BY_ACT = {"window", "person", "centre"}
MOST = 2000  # rows of a month's list read for the 通报, at most
# the counts a leader reads first, in the order of the table
COUNTS = ("received", "accepted", "concluded", "concluded_on_time", "immediate", "consulted", "ratings",
          "satisfied", "dissatisfied", "complaints", "fees_collected")
# the seven monthly figures (七项指标) of the 通报, and what the figures page shows with them
SEVEN = ("entry_rate", "window_authorisation_rate", "on_site_rate", "on_time_rate", "satisfaction_rate",
         "complaint_rate", "compression_ratio")
RATIOS = SEVEN + ("immediate_share", "dissatisfaction_rate", "follow_up_rate")


async def _reader(request: Request) -> Person | Response:
    return await signed_in_at(request, READERS, "本页面供领导和电子监察人员使用",
                              "效能统计和月度通报供带班领导和电子监察室查看。")


def ratio(figures: spb.Figures, name: str):
    return getattr(figures, name) if figures.HasField(name) else None


async def figures(request: Request):
    """效能统计: the figures of a period, grouped as asked, with a chart of cases accepted and
    concluded, and of the on-time and satisfaction rates."""
    reader = await _reader(request)
    if isinstance(reader, Response):
        return reader
    q = request.query_params
    period = period_of(q, local_day(reader.front.now()))
    group = q.get("by", "department")[:20]
    group = group if group in GROUPS else "department"
    reply = await reader.call(reader.front.apis.supervision.GetFigures,
                              spb.GetFiguresRequest(period=period.message, group_by=GROUPS[group]))
    org = reader.front.org
    rows = [(name_of(org, f.key) if f.key else "全县", f) for f in reply.figures]
    rows.sort(key=lambda r: -r[1].counts.get("accepted", 0))
    shown = rows[:15]  # a chart's bars: the 15 that accepted most

    def rate(name: str) -> list:
        return [(n, round((ratio(f, name) or 0) * 100, 1)) for n, f in shown]

    series = {"accepted": [(n, f.counts.get("accepted", 0)) for n, f in shown], "on_time": rate("on_time_rate"),
              "satisfaction": rate("satisfaction_rate")}
    return reader.page("leaders_figures.html", period=period, group=group, groups=GROUPS, rows=rows,
                       counts=COUNTS, ratios=RATIOS, ratio=ratio, percent=percent, series=series, chart=bar_chart,
                       listed=listed,
                       agents=list(reply.agents),
                       period_query=urlencode(period.query))


def department_ranking(figures: list) -> list:
    """The departments of a month in the order of the 通报: on-time rate, then satisfaction, then the
    cases concluded (a department with nothing concluded comes last)."""
    def key(f):
        return (-(ratio(f, "on_time_rate") if ratio(f, "on_time_rate") is not None else -1),
                -(ratio(f, "satisfaction_rate") or 0), -f.counts.get("concluded", 0), f.key)
    return sorted((f for f in figures if f.key), key=key)


async def bulletin_of(person: Person, month: str) -> dict:
    """What the monthly 通报 says: the seven figures of the county, the departments ranked, the
    windows' assessment and red flags, the red warnings with their 督办 and replies, the complaints
    and the rectification items of the month."""
    sup, call = person.front.apis.supervision, person.call
    period = month_period(month)
    overall = await call(sup.GetFigures, spb.GetFiguresRequest(period=period.message, group_by=spb.OVERALL))
    by_department = await call(sup.GetFigures, spb.GetFiguresRequest(period=period.message, group_by=spb.DEPARTMENT))
    assessment = await call(sup.GetAssessment, spb.GetAssessmentRequest(month=month))
    reds = await every_row(person, sup.ListWarnings, spb.ListWarningsRequest(
        period=period.message, colour=spb.RED, page_size=500), "warnings", MOST)
    first, last = period.start.isoformat(), period.end.isoformat()
    complaints = await every_row(person, sup.ListComplaints, spb.ListComplaintsRequest(page_size=500), "complaints",
                                 MOST)
    complaints = [c for c in complaints if first <= c.registered_on[:10] <= last]
    items = await every_row(person, sup.ListRectifications, spb.ListRectificationsRequest(page_size=500), "items",
                            MOST)
    items = [r for r in items if first <= r.opened_on[:10] <= last]
    county = overall.figures[0] if overall.figures else spb.Figures()
    ranked = [w for w in assessment.windows if w.rank]
    return {"month": month, "county": county, "departments": department_ranking(list(by_department.figures)),
            "assessment": assessment, "windows": sorted(ranked, key=lambda w: w.rank),
            "red_flags": [w for w in assessment.windows if w.red_flag], "reds": reds, "complaints": complaints,
            "items": items}


async def bulletin(request: Request):
    """月度通报 of a month (the last one unless asked), on screen and printable on A4, or as PDF, with
    the versions the office has issued."""
    reader = await _reader(request)
    if isinstance(reader, Response):
        return reader
    today = local_day(reader.front.now())
    asked, _, suffix = request.path_params.get("name", "").partition(".")
    month = _month_asked(asked, today)
    if month is None or suffix not in ("", "pdf"):
        return _no_such_month(request)
    if not suffix:
        issued = await reader.call(reader.front.apis.supervision.ListBulletins, spb.ListBulletinsRequest(month=month))
        return reader.page("bulletin.html", pdf=False, issued=list(issued.bulletins), request_id=uuid.uuid4().hex,
                           **await _bulletin_context(reader, month, today))
    body = await _bulletin_pdf(reader, month, today)
    return _pdf_response(body, f"tongbao-{month}.pdf")


async def _bulletin_context(person: Person, month: str, today) -> dict:
    return dict(await bulletin_of(person, month), ratio=ratio, percent=percent, seven=SEVEN,
                name_of=lambda c: name_of(person.front.org, c), previous=_month_before(month),
                next=_month_after(month, today))


async def _bulletin_pdf(person: Person, month: str, today) -> bytes:
    page = person.page("bulletin.html", pdf=True, **await _bulletin_context(person, month, today))
    return await anyio.to_thread.run_sync(documents.pdf, page.body.decode())


def _pdf_response(body: bytes, name: str) -> Response:
    return Response(body, media_type="application/pdf", headers={"content-disposition": f'inline; filename="{name}"'})


async def issue_bulletin(request: Request):
    """The supervision office issues the month's 通报: its PDF as it reads now, archived by the
    supervision service with the seven figures it states (a later issue is a new version)."""
    officer = await signed_in_at(request, {PostKind.SUPERVISION_OFFICER.value}, "只有电子监察室可以发布通报",
                                 "月度通报由电子监察室发布。")
    if isinstance(officer, Response):
        return officer
    data = await posted(request, officer.session.csrf)
    if data is None:
        return expired_form(request)
    today = local_day(officer.front.now())
    month = _month_asked(request.path_params["name"], today)
    if month is None:
        return _no_such_month(request)
    content = await bulletin_of(officer, month)
    summary = json.dumps({"month": month, **{name: ratio(content["county"], name) for name in SEVEN},
                          **{k: content["county"].counts.get(k, 0) for k in COUNTS}}, ensure_ascii=False)
    body = await _bulletin_pdf(officer, month, today)
    request_id = str(data.get("request_id", ""))[:64] or uuid.uuid4().hex
    await officer.call(officer.front.apis.supervision.IssueBulletin, spb.IssueBulletinRequest(
        request_id=request_id, month=month, pdf=body, summary=summary))
    return RedirectResponse(f"/bulletins/{month}#issued", status_code=303)


async def issued_bulletin(request: Request):
    """An issued 通报 as archived (its PDF, unchanged since issue)."""
    reader = await _reader(request)
    if isinstance(reader, Response):
        return reader
    try:
        found = await reader.call(reader.front.apis.supervision.GetBulletin,
                                  spb.GetBulletinRequest(bulletin_id=request.path_params["bulletin_id"]))
    except ApiError as error:
        if error.code != "NOT_FOUND":
            raise
        return render(request, "error.html", status=404, title="没有这份通报", text="没有找到这份已发布的通报。")
    return _pdf_response(found.pdf, f"tongbao-{found.month}-v{found.version}.pdf")


def _month_asked(text: str, today) -> str | None:
    """The month of a 通报's address (none asked: the last month); None for what is not a month, or
    one still to come."""
    month = month_of(text, today)
    return None if text and text != month or month > today.strftime("%Y-%m") else month


def _no_such_month(request: Request):
    return render(request, "error.html", status=404, title="没有这个月的通报",
                  text="月份的格式为 2026-03，且不能晚于本月。")


def _month_before(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def _month_after(month: str, today) -> str:
    year, number = int(month[:4]), int(month[5:])
    after = f"{year + 1}-01" if number == 12 else f"{year}-{number + 1:02d}"
    return after if after <= today.strftime("%Y-%m") else ""


def listed(group: str, count: str) -> bool:
    """Whether the figures page links this count to its cases."""
    return count in LISTED and not (count == "complaints" and group in BY_ACT)


async def figure_cases(request: Request):
    """The cases behind one number of the figures: the same period, grouping and key, one count."""
    reader = await _reader(request)
    if isinstance(reader, Response):
        return reader
    q = request.query_params
    period = period_of(q, local_day(reader.front.now()))
    group, key, count = q.get("by", "")[:20], q.get("key", "")[:60], q.get("count", "")[:30]
    if group not in GROUPS or not listed(group, count) and count != "concluded_late":
        return render(request, "error.html", status=404, title="没有这个统计数", text="没有找到这个统计数的办件。")
    try:
        reply = await reader.call(reader.front.apis.supervision.ListFigureCases, spb.ListFigureCasesRequest(
            period=period.message, group_by=GROUPS[group], key=key, count=count, page_size=100,
            page_token=q.get("page_token", "")[:200]))
    except ApiError as error:
        if error.code != "INVALID_ARGUMENT":
            raise
        return render(request, "error.html", status=404, title="没有这个统计数", text="没有找到这个统计数的办件。")
    here = urlencode({**period.query, "by": group, "key": key, "count": count})
    return reader.page("leaders_cases.html", period=period, group=group, key=key, count=count,
                       name=name_of(reader.front.org, key) if key else "全县", cases=list(reply.cases),
                       next_token=reply.next_page_token, here=here, period_query=urlencode(period.query),
                       name_of=lambda code: name_of(reader.front.org, code) if code else "—")


# --- the day's summary ---------------------------------------------------------------------------

async def day_summary(request: Request, problem: str | None = None, status: int = 200):
    """当日汇总: the centre's day for the leader on duty to sign (a leader's own centre; the office
    reads any centre's). Another day than today by `day=`."""
    reader = await _reader(request)
    if isinstance(reader, Response):
        return reader
    q = request.query_params
    day = q.get("day", "")[:10]
    centre = q.get("centre", "")[:50] if reader.session.post_kind != PostKind.LEADER.value else ""
    if reader.session.post_kind == PostKind.SUPERVISION_OFFICER.value and not centre:
        centre = reader.front.org.centre_of(reader.organisation).code
    try:
        summary = await reader.call(reader.front.apis.supervision.GetDaySummary,
                                    spb.DaySummaryRequest(day=day, centre=centre))
    except ApiError as error:
        if error.code != "INVALID_ARGUMENT":
            raise
        return render(request, "error.html", status=404, title="没有这一天的汇总",
                      text="日期的格式为 2026-03-02，且不能晚于今天。")
    return reader.page("leaders_day.html", status=status, summary=summary, problem=problem,
                       may_sign=reader.session.post_kind == PostKind.LEADER.value and not summary.signed,
                       centres=[o for o in reader.front.org.organisations if o.kind == "centre"])


async def sign_day(request: Request):
    """The leader on duty signs the day's summary (their one act): recorded by supervision."""
    leader = await signed_in_at(request, {PostKind.LEADER.value}, "只有带班领导可以签字",
                                "当日汇总由带班领导签字。")
    if isinstance(leader, Response):
        return leader
    data = await posted(request, leader.session.csrf)
    if data is None:
        return expired_form(request)
    day = str(data.get("day", ""))[:10]
    try:
        await leader.call(leader.front.apis.supervision.SignDaySummary, spb.DaySummaryRequest(day=day))
    except ApiError as error:
        if error.code == "FAILED_PRECONDITION":
            return await day_summary(request, "这一天的汇总已经签字。", status=409)
        if error.code in ("INVALID_ARGUMENT", "PERMISSION_DENIED"):
            return await day_summary(request, i18n.said("未能签字：%(why)s", why=error.message), status=400)
        raise
    return RedirectResponse(f"/leaders/day?day={day}" if day else "/leaders/day", status_code=303)


ROUTES = [
    Route("/leaders", figures),
    Route("/leaders/cases", figure_cases),
    Route("/bulletins", bulletin),
    Route("/bulletins/{name}", bulletin),  # 2026-03, 2026-03.pdf
    Route("/bulletins/{name}", issue_bulletin, methods=["POST"]),
    Route("/bulletins/issued/{bulletin_id:int}.pdf", issued_bulletin),
    Route("/leaders/day", day_summary),
    Route("/leaders/day", sign_day, methods=["POST"]),
]
