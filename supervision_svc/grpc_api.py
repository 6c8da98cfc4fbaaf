"""The supervision gRPC API (onewindow.supervision.v1): parse, authenticate, run the use case, answer.
Its process also serves the business figures on /metrics (gauges.py)."""
from __future__ import annotations

import calendar
import datetime as dt

from onewindow.supervision.v1 import supervision_pb2 as pb
from onewindow.supervision.v1 import supervision_pb2_grpc
from prometheus_client import REGISTRY

from hall.domain import OrgKind
from hall.wiring import ApiWiring
from services.access import Caller, Credentials, Role
from services.errors import Forbidden, InvalidRequest, NotFound
from services.grpcutil import add_servicer, rpc
from services.timesource import TimeSource, local_day

from . import store
from .access import QUIET, ROLES
from .agent_checks_api import AgentChecksApi
from .assessment import AssessmentRule, assess
from .board import GROUPS as BOARD_GROUPS
from .board import Board, WarningFilter
from .bulletins import issue
from .day_summary import DaySummaries
from .feedback import Complaint, Feedback, PublicLimits, Rating
from .figure_cases import figure_cases, scope_of
from .figures import GROUPINGS, agent_figures, figures
from .gauges import BusinessCollector
from .instructions import Instructions
from .settings import SupervisionSettings
from .suggestions import close_suggestion
from .use_cases import Supervision

SETTINGS, PORT_SETTING = SupervisionSettings, "supervision_port"
SOURCE = "supervision"
_COLOURS = {pb.YELLOW: "yellow", pb.RED: "red"}
_RATING_CHANNELS = {pb.ON_SITE: "on_site", pb.ONLINE: "online"}
_COMPLAINT_CHANNELS = {pb.PHONE: "phone", pb.LETTER: "letter", pb.MAILBOX: "mailbox", pb.ONLINE_FORM: "online"}
_RESOLUTIONS = {pb.FIXED: "fixed", pb.LEDGER: "ledger", pb.EXPLAINED: "explained"}
_GROUPS = {pb.OVERALL: "", pb.DEPARTMENT: "department", pb.ITEM: "item", pb.LEVEL: "level", pb.CHANNEL: "channel",
           pb.WINDOW: "window", pb.PERSON: "person", pb.CENTRE: "centre"}


def _day(value) -> str:
    return str(value) if value else ""


def _actor(by: dict | None) -> pb.Actor | None:
    """Who did an act, as recorded (None: not done, or done before acts named their person)."""
    return pb.Actor(**by) if by else None


def period(p: pb.Period, field: str = "period") -> tuple[dt.date, dt.date]:
    try:
        if p.month:
            first = dt.date.fromisoformat(f"{p.month}-01")
            return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])
        since, until = dt.date.fromisoformat(getattr(p, "from")), dt.date.fromisoformat(p.to)
    except ValueError:
        raise InvalidRequest([(field, "a month (YYYY-MM) or from and to (YYYY-MM-DD)")]) from None
    if until < since:
        raise InvalidRequest([(f"{field}.to", "on or after from")])
    if (until - since).days > 366 * 5:
        raise InvalidRequest([(field, "at most five years")])
    return since, until


def any_period(p: pb.Period) -> tuple[dt.date | None, dt.date | None]:
    """A period, or (None, None) for an empty one: any day."""
    return period(p) if p.month or getattr(p, "from") or p.to else (None, None)


def _page(size: int, token: str, default: int = 100) -> tuple[int, int]:
    size = size or default
    if not 1 <= size <= 500:
        raise InvalidRequest([("page_size", "between 1 and 500")])
    try:
        return size, int(token or 0)
    except ValueError:
        raise InvalidRequest([("page_token", "a token from a previous reply")]) from None


def _next(rows: list[dict], size: int, key: str) -> str:
    return str(rows[size - 1][key]) if len(rows) > size else ""


def rectification_view(r: dict) -> pb.Rectification:
    resolution = {"fixed": pb.FIXED, "ledger": pb.LEDGER, "explained": pb.EXPLAINED, "voided": pb.VOIDED}
    return pb.Rectification(
        rating_id=r["rating_id"], case_number=r["case_number"], level=r["level"], comment=r["comment"],
        named=r["named"], department=r["department"] or "", organisation=r["organisation"],
        opened_on=_day(r["opened_on"]), deadline=_day(r["deadline"]),
        resolution=resolution.get(r["resolution"], 0), note=r["note"], resolved_on=_day(r["resolved_on"]),
        follow_up=r["follow_up"] or "", followed_up_on=_day(r["followed_up_on"]), appeal=r["appeal"] or "",
        appealed_on=_day(r["appealed_on"]), appeal_reviewed=r["reviewed_on"] is not None,
        appeal_upheld=bool(r["appeal_upheld"]), post=r["post"], by_organisation=r["by_organisation"],
        by_person=r["by_person"], resolved_by=_actor(r["resolved_by"]), followed_up_by=_actor(r["followed_up_by"]),
        appealed_by=_actor(r["appealed_by"]), reviewed_by=_actor(r["reviewed_by"]))


def warning_view(w: dict) -> pb.Warning:
    """A warning; with the board's columns (board.py) when read for the board."""
    return pb.Warning(id=w["id"], case_number=w["case_number"] or "", step=w["step"],
                      department=w.get("warned") or w["department"] or "", item_code=w.get("item_code") or "",
                      organisation=w.get("organisation") or "", level=w.get("level", ""), centre=w.get("centre", ""),
                      colour=pb.RED if w["colour"] == "red" else pb.YELLOW, deadline=_day(w["deadline"]),
                      raised_on=_day(w["raised_on"]), withdrawn_on=_day(w["withdrawn_on"]),
                      instruction=w["instruction"] or "", instructed_on=_day(w["instructed_on"]),
                      reply_by=_day(w["reply_by"]), reply=w["reply"] or "", replied_on=_day(w["replied_on"]),
                      instructed_by=_actor(w["instructed_by"]), replied_by=_actor(w["replied_by"]))


def complaint_view(c: dict) -> pb.Complaint:
    channel = {v: k for k, v in _COMPLAINT_CHANNELS.items()}[c["channel"]]
    return pb.Complaint(id=c["id"], channel=channel, case_number=c["case_number"] or "", department=c["department"],
                        text=c["text"], registered_on=_day(c["registered_on"]), deadline=_day(c.get("deadline")),
                        answer=c["answer"] or "", answered_on=_day(c["answered_on"]),
                        registered_by=_actor(c["registered_by"]), answered_by=_actor(c["answered_by"]),
                        kind=pb.AGENT_FEE if c.get("kind") == "agent_fee" else pb.SERVICE, agent=c.get("agent") or "")


def suggestion_view(s: dict) -> pb.Suggestion:
    return pb.Suggestion(id=s["id"], department=s["department"], month=s["month"], reds=s["reds"],
                         reds_in_month=s["reds_in_month"], raised_on=_day(s["raised_on"]),
                         closed_on=_day(s["closed_on"]), note=s["note"] or "", closed_by=_actor(s["closed_by"]))


def bulletin_view(b: dict) -> pb.Bulletin:
    """An issued bulletin; its PDF only when read with it (store.bulletin)."""
    return pb.Bulletin(id=b["id"], month=b["month"], version=b["version"], summary=b["summary"],
                       issued_at=b["issued_at"].isoformat(), issued_by=_actor(b["issued_by"]),
                       size_bytes=b["size_bytes"], pdf=bytes(b.get("pdf") or b""))


class SupervisionApi(AgentChecksApi, supervision_pb2_grpc.SupervisionServicer):
    API = "supervision"
    ROLES = ROLES
    QUIET = QUIET

    def __init__(self, feedback: Feedback, instructions: Instructions, unit_of_work, credentials: Credentials,
                 rule: AssessmentRule | None = None):
        self.feedback = feedback
        self.instructions = instructions
        self.unit_of_work = unit_of_work
        self.credentials = credentials
        self.rule = rule or AssessmentRule()
        self.board = Board(feedback)
        self.days = DaySummaries(self.board)

    @staticmethod
    def _scope(caller: Caller, asked: str) -> str | None:
        """The department whose items a caller may list: the office and leaders any (or all), a
        department its own."""
        if caller.role in (Role.SUPERVISOR, Role.LEADER):
            return asked or None
        if asked and asked != caller.code:
            raise Forbidden(f"{caller.code} may list its own items only")
        return caller.code

    def _warning_filter(self, caller: Caller, request) -> WarningFilter:
        department = self._scope(caller, request.department)
        since, until = any_period(request.period)
        if request.colour and request.colour not in _COLOURS:  # unspecified: both
            raise InvalidRequest([("colour", "YELLOW, RED, or unspecified for both")])
        f = request.filters
        return WarningFilter(since, until, department, _COLOURS.get(request.colour), f.item or None,
                             f.level or None, f.centre or None, f.open_only, f.instructed_unreplied,
                             f.late_replies, f.organisation or None)

    @rpc
    def ListWarnings(self, request, context, caller):
        selected = self._warning_filter(caller, request)
        size, after = _page(request.page_size, request.page_token)
        with self.unit_of_work() as uow:
            rows = self.board.warnings(uow, selected, local_day(uow.time.now()), after, size + 1)
        return pb.ListWarningsReply(next_page_token=_next(rows, size, "id"),
                                    warnings=[warning_view(w) for w in rows[:size]])

    @rpc
    def CountWarnings(self, request, context, caller):
        selected = self._warning_filter(caller, request)
        group_by = _GROUPS.get(request.group_by)
        if group_by not in BOARD_GROUPS:
            raise InvalidRequest([("group_by", "OVERALL, DEPARTMENT, ITEM, LEVEL, CENTRE or WINDOW")])
        with self.unit_of_work() as uow:
            rows = self.board.counts(uow, selected, local_day(uow.time.now()), group_by)
        return pb.CountWarningsReply(**{"from": _day(selected.since)}, to=_day(selected.until),
                                     counts=[pb.WarningCount(**c) for c in rows])

    @rpc
    def Instruct(self, request, context, caller):
        with self.unit_of_work() as uow:
            return warning_view(self.instructions.instruct(uow, caller, request.warning_id, request.instruction,
                                                           request.reply_days))

    @rpc
    def ReplyToInstruction(self, request, context, caller):
        with self.unit_of_work() as uow:
            return warning_view(self.instructions.reply(uow, caller, request.warning_id, request.reply))

    @rpc
    def ListFaults(self, request, context, caller):
        department = self._scope(caller, request.department)
        since, until = period(request.period)
        with self.unit_of_work() as uow:
            rows = store.faults_in(uow, since, until, department)
        return pb.ListFaultsReply(faults=[
            pb.Fault(case_number=f["case_number"], kind=f["kind"], department=f["department"] or "",
                     detail=f["detail"], found_on=_day(f["found_on"])) for f in rows])

    @rpc
    def Rate(self, request, context, caller):
        rating = Rating(request_id=request.request_id, case_number=request.case_number,
                        channel=_RATING_CHANNELS.get(request.channel, ""), act=request.act, level=request.level,
                        rater=request.rater, comment=request.comment, named=request.named, window=request.window)
        with self.unit_of_work() as uow:
            r = self.feedback.rate(uow, rating, caller)
            opened = store.rectification(uow, r["id"]) is not None
        return pb.Rating(id=r["id"], case_number=r["case_number"], channel=request.channel, act=r["act"],
                         level=r["level"], department=r["department"] or "", rated_on=_day(r["rated_on"]),
                         rectification_opened=opened, by_organisation=r["by_organisation"],
                         by_person=r["by_person"], by_post=r["by_post"])

    @rpc
    def ListRectifications(self, request, context, caller):
        if caller.role in (Role.CLERK, Role.MANAGER):  # a centre: its organisations' without a department
            if request.department:
                raise Forbidden(f"{caller.code} lists its centre's items only: leave department empty")
            department, organisations = None, self.feedback.organisations_answered_by(caller.organisation)
        else:
            department, organisations = self._scope(caller, request.department), None
        size, after = _page(request.page_size, request.page_token)
        with self.unit_of_work() as uow:
            rows = store.rectifications(uow, department, request.open_only, after, size + 1, organisations,
                                        request.post, request.person)
        return pb.ListRectificationsReply(items=[rectification_view(r) for r in rows[:size]],
                                          next_page_token=_next(rows, size, "rating_id"))

    def _rectification(self, act) -> pb.Rectification:
        """Run a use case of feedback on a rectification item (`act(uow)`) and show the item."""
        with self.unit_of_work() as uow:
            return rectification_view(act(uow))

    @rpc
    def Rectify(self, request, context, caller):
        resolution = _RESOLUTIONS.get(request.resolution, "")
        return self._rectification(lambda uow: self.feedback.rectify(
            uow, caller, request.rating_id, resolution=resolution, note=request.note))

    @rpc
    def FollowUp(self, request, context, caller):
        return self._rectification(lambda uow: self.feedback.follow_up(
            uow, caller, request.rating_id, outcome=request.outcome))

    @rpc
    def Appeal(self, request, context, caller):
        return self._rectification(lambda uow: self.feedback.appeal(
            uow, caller, request.rating_id, reason=request.reason))

    @rpc
    def ReviewAppeal(self, request, context, caller):
        return self._rectification(lambda uow: self.feedback.review_appeal(
            uow, caller, request.rating_id, upheld=request.upheld, note=request.note))

    @rpc
    def Complain(self, request, context, caller):
        contact = ({"name": request.contact_name, "phone": request.contact_phone, "email": request.contact_email}
                   if request.contact_phone or request.contact_email else None)
        complaint = Complaint(request_id=request.request_id, channel=_COMPLAINT_CHANNELS.get(request.channel, ""),
                              text=request.text, case_number=request.case_number, department=request.department,
                              contact=contact, kind="agent_fee" if request.kind == pb.AGENT_FEE else "service",
                              agent=request.agent)
        with self.unit_of_work() as uow:
            c = self.feedback.complain(uow, complaint, caller)
            return complaint_view(store.complaint(uow, c["id"]))

    @rpc
    def AnswerComplaint(self, request, context, caller):
        with self.unit_of_work() as uow:
            return complaint_view(self.feedback.answer_complaint(uow, caller, request.complaint_id,
                                                                 request.answer))

    @rpc
    def ListComplaints(self, request, context, caller):
        department = self._scope(caller, request.department)
        size, after = _page(request.page_size, request.page_token)
        with self.unit_of_work() as uow:
            rows = store.complaints(uow, department, request.open_only, after, size + 1)
        return pb.ListComplaintsReply(complaints=[complaint_view(c) for c in rows[:size]],
                                      next_page_token=_next(rows, size, "id"))

    @rpc
    def ListSuggestions(self, request, context, caller):
        department = self._scope(caller, request.department)
        size, after = _page(request.page_size, request.page_token)
        with self.unit_of_work() as uow:
            rows = store.suggestions(uow, department, request.open_only, after, size + 1)
        return pb.ListSuggestionsReply(suggestions=[suggestion_view(s) for s in rows[:size]],
                                       next_page_token=_next(rows, size, "id"))

    @rpc
    def CloseSuggestion(self, request, context, caller):
        with self.unit_of_work() as uow:
            return suggestion_view(close_suggestion(uow, caller, request.suggestion_id, request.note))

    def _day_of(self, caller: Caller, request, uow) -> tuple[dt.date, str]:
        """The day and centre asked for: today and the caller's own centre by default."""
        try:
            day = dt.date.fromisoformat(request.day) if request.day else local_day(uow.time.now())
        except ValueError:
            raise InvalidRequest([("day", "a date (YYYY-MM-DD)")]) from None
        centre = request.centre
        if caller.role in (Role.MANAGER, Role.LEADER):
            centre = centre or caller.organisation
            if caller.role == Role.MANAGER and centre != caller.organisation:
                raise Forbidden(f"{caller} reads the day of {caller.organisation} only")
        if not centre:
            raise InvalidRequest([("centre", "a centre's code")])
        return day, centre

    @rpc
    def GetDaySummary(self, request, context, caller):
        with self.unit_of_work() as uow:
            return self._day_summary_view(self.days.summary(uow, *self._day_of(caller, request, uow)))

    @rpc
    def SignDaySummary(self, request, context, caller):
        with self.unit_of_work() as uow:
            return self._day_summary_view(self.days.sign(uow, caller, *self._day_of(caller, request, uow)))

    def _day_summary_view(self, d: dict) -> pb.DaySummary:
        def ball(c: dict) -> pb.BallVote:
            return pb.BallVote(satisfied=c["satisfied"], basically_satisfied=c["basically_satisfied"],
                               dissatisfied=c["dissatisfied"])

        chart, signed, totals = self.feedback.ref.org, d["signature"], d["totals"]
        return pb.DaySummary(
            day=str(d["day"]), centre=d["centre"], centre_name=_name(chart, d["centre"]),
            accepted=totals["accepted"], concluded=totals["concluded"], decided=totals["decided"],
            ratings=ball(totals), open_reds=d["open_reds"], red_warnings=[warning_view(w) for w in d["red_warnings"]],
            windows=[pb.DayOfWindow(window=code, name=_name(chart, code), accepted=c["accepted"],
                                    concluded=c["concluded"], decided=c["decided"], ratings=ball(c))
                     for code, c in d["organisations"].items()],
            signed=signed is not None, signed_by=_actor(signed["signed_by"]) if signed else None,
            signed_at=signed["signed_at"].isoformat() if signed else "")

    @rpc
    def IssueBulletin(self, request, context, caller):
        with self.unit_of_work() as uow:
            return bulletin_view(issue(uow, caller, request.request_id, request.month, request.pdf, request.summary))

    @rpc
    def ListBulletins(self, request, context, caller):
        size, after = _page(request.page_size, request.page_token)
        with self.unit_of_work() as uow:
            rows = store.bulletins(uow, request.month or None, after, size + 1)
        return pb.ListBulletinsReply(bulletins=[bulletin_view(b) for b in rows[:size]],
                                     next_page_token=_next(rows, size, "id"))

    @rpc
    def GetBulletin(self, request, context, caller):
        with self.unit_of_work() as uow:
            found = store.bulletin(uow, request.bulletin_id)
        if found is None:
            raise NotFound(f"no bulletin {request.bulletin_id}")
        return bulletin_view(found)

    @rpc
    def LookUpComplaint(self, request, context, caller):
        with self.unit_of_work() as uow:
            c = self.feedback.look_up_complaint(uow, request.complaint_id, request.phone_last4, caller.client)
        if c is None:  # the failed guess is committed before the answer
            raise NotFound("no complaint with this number and phone")
        return pb.PublicComplaint(id=c["id"], registered_on=_day(c["registered_on"]), deadline=_day(c["deadline"]),
                                  answered=c["answered_on"] is not None, answer=c["answer"] or "",
                                  answered_on=_day(c["answered_on"]), case_number=c["case_number"] or "",
                                  department_name=c["department_name"])

    @rpc
    def GetFigures(self, request, context, caller):
        since, until = period(request.period)
        group_by = self._figures_group(request.group_by)
        ref = self.feedback.ref
        with self.unit_of_work() as uow:
            groups = figures(uow, ref, since, until, group_by)
            agents = agent_figures(uow, ref, since, until)
        return pb.FiguresReply(
            **{"from": str(since)}, to=str(until), figures=[figures_view(f) for f in groups],
            agents=[pb.AgentFigures(agent=a.agent, name=a.name, organisation=a.organisation, cases=a.cases,
                                    quota=a.quota, met=a.met, concluded=a.concluded, ratings=a.ratings,
                                    satisfied=a.satisfied) for a in agents])

    @staticmethod
    def _figures_group(group_by: int) -> str:
        if _GROUPS.get(group_by) not in GROUPINGS:
            raise InvalidRequest([("group_by", "OVERALL, DEPARTMENT, ITEM, LEVEL, CHANNEL, WINDOW, PERSON or CENTRE")])
        return _GROUPS[group_by]

    @rpc
    def ListFigureCases(self, request, context, caller):
        since, until = period(request.period)
        group_by = self._figures_group(request.group_by)
        size, _ = _page(request.page_size, "")
        ref = self.feedback.ref
        with self.unit_of_work() as uow:
            rows = figure_cases(uow, ref, since, until, group_by, request.key, request.count, scope_of(caller, ref),
                                request.page_token, size + 1)
        return pb.ListFigureCasesReply(**{"from": str(since)}, to=str(until), next_page_token=_next(rows, size, "seq"),
                                       cases=[figure_case_view(r) for r in rows[:size]])

    @rpc
    def GetAssessment(self, request, context, caller):
        if not request.month:
            raise InvalidRequest([("month", "a month (YYYY-MM)")])
        since, until = period(pb.Period(month=request.month), "month")
        centre = request.centre
        if caller.role == Role.MANAGER:  # a centre's manager: the windows of their own centre
            if centre and centre != caller.organisation:
                raise Forbidden(f"{caller} assesses the windows of {caller.organisation} only")
            centre = caller.organisation
        chart = self.feedback.ref.org
        if centre and (chart.organisation(centre) is None or chart.organisation(centre).kind != OrgKind.CENTRE):
            raise InvalidRequest([("centre", f"no centre {centre!r}")])
        with self.unit_of_work() as uow:
            by_window = figures(uow, self.feedback.ref, since, until, "window")
        rule = self.rule
        windows = [a for a in assess(by_window, chart, rule)
                   if not centre or self.feedback.centre_answering_for(a.window) == centre]
        return pb.AssessmentReply(
            month=request.month, min_acts=rule.min_acts, min_on_time_rate=rule.min_on_time_rate,
            min_satisfaction_rate=rule.min_satisfaction_rate, max_unrectified=rule.max_unrectified,
            red_flags=rule.red_flags, windows=[pb.WindowAssessment(
                window=a.window, name=_name(chart, a.window), figures=figures_view(a.figures),
                unrectified=a.unrectified, shortfalls=a.shortfalls, rank=a.rank, red_flag=a.red_flag)
                for a in windows])


def figures_view(f) -> pb.Figures:
    return pb.Figures(key=f.counts.key, counts={k: v for k, v in vars(f.counts).items() if k != "key"},
                      **{k: v for k, v in f.ratios.items() if v is not None})


def figure_case_view(r: dict) -> pb.FigureCase:
    return pb.FigureCase(
        case_number=r["case_number"] or "", item_code=r["item_code"] or "", department=r["department"] or "",
        organisation=r["organisation"] or "", accepted_on=_day(r["accepted_on"]), concluded_on=_day(r["concluded_on"]),
        on_time=bool(r["on_time"]), days_used=r["days_used"] or 0, limit_days=r["limit_days"] or 0,
        counted_on=_day(r["counted_on"]), task_id=r["task_id"] or "", rating_id=r["rating_id"] or 0,
        complaint_id=r["complaint_id"] or 0)


def _name(chart, code: str) -> str:
    office = chart.organisation(code)
    return office.name if office else code


def build(settings: SupervisionSettings, server, time: TimeSource | None = None) -> ApiWiring:
    wiring = ApiWiring.open(settings, SOURCE, time)
    supervision = Supervision(wiring.reference, settings.warn_share, settings.suggestion_after_reds,
                              settings.progress_notice_days)
    limits = PublicLimits(settings.complaints_per_client, dt.timedelta(minutes=settings.complaint_window_minutes),
                          settings.lookup_failures_per_complaint, settings.lookup_failures_per_address,
                          dt.timedelta(minutes=settings.lookup_window_minutes))
    feedback = Feedback(supervision, settings.rectification_days, settings.complaint_limit_days, limits)
    instructions = Instructions(supervision, settings.instruction_reply_days)
    api = SupervisionApi(feedback, instructions, wiring.unit_of_work, wiring.credentials, settings.assessment_rule())
    add_servicer(server, api, pb.DESCRIPTOR.services_by_name["Supervision"])
    collector = BusinessCollector(wiring.unit_of_work, wiring.reference, settings.amqp_url)
    REGISTRY.register(collector)
    wiring.on_close(lambda: REGISTRY.unregister(collector))
    return wiring
