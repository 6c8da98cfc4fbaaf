"""The supervision API's 代办制 methods (GetAgentQuotas, the 抽查 and the 回访): parse, scope, run agent_checks,
answer. Mixed into SupervisionApi (grpc_api.py), whose unit of work and feedback it uses."""
from __future__ import annotations

import datetime as dt

from onewindow.supervision.v1 import supervision_pb2 as pb

from services.access import Role
from services.errors import Forbidden, InvalidRequest
from services.grpcutil import rpc

from .agent_checks import AgentChecks, Criteria

_FINDINGS = {pb.CARRIED_OUT: "carried_out", pb.NOT_CARRIED_OUT: "not_carried_out"}


def _day(value) -> str:
    return str(value) if value else ""


def _actor(by: dict | None) -> pb.Actor | None:
    return pb.Actor(**by) if by else None


def month_first(month: str, field: str = "month") -> dt.date:
    try:
        if len(month) == 7:
            return dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        pass
    raise InvalidRequest([(field, "a month (YYYY-MM)")])


def agent_quota_view(a) -> pb.AgentQuota:
    f = a.figures
    return pb.AgentQuota(figures=pb.AgentFigures(
        agent=f.agent, name=f.name, organisation=f.organisation, cases=f.cases, quota=f.quota, met=f.met,
        concluded=f.concluded, ratings=f.ratings, satisfied=f.satisfied), tier=a.tier, group=a.group,
        fee_complaints=a.fee_complaints)


def spot_check_view(c: dict) -> pb.SpotCheck:
    finding = {v: k for k, v in _FINDINGS.items()}.get(c["finding"], 0)
    return pb.SpotCheck(id=c["id"], case_number=c["case_number"], agent=c["agent"], item_code=c["item_code"],
                        accepted_on=_day(c["accepted_on"]), finding=finding, note=c["note"],
                        checked_on=_day(c["checked_on"]), checked_by=_actor(c["checked_by"]))


def draw_view(d: dict) -> pb.SpotCheckDraw:
    return pb.SpotCheckDraw(id=d["id"], township=d["township"], month=d["month"].strftime("%Y-%m"), seed=d["seed"],
                            pool=d["pool"], drawn_on=_day(d["drawn_on"]), drawn_by=_actor(d["drawn_by"]),
                            checks=[spot_check_view(c) for c in d["checks"]])


def call_view(c: dict) -> pb.FollowUpCall:
    return pb.FollowUpCall(
        id=c["id"], case_number=c["case_number"], item_code=c["item_code"], department=c["department"],
        agent=c["agent"] or "", concluded_on=_day(c["concluded_on"]), criteria=c["criteria"],
        selected_on=_day(c["selected_on"]), selected_by=_actor(c["selected_by"]), outcome=c["outcome"] or "",
        called_on=_day(c["called_on"]), called_by=_actor(c["called_by"]), rating_id=c["rating_id"] or 0)


class AgentChecksApi:
    """Needs `unit_of_work` and `feedback` (for the reference) of the API it is mixed into."""

    @property
    def checks(self) -> AgentChecks:
        return AgentChecks(self.feedback.ref, self.feedback)

    @rpc
    def GetAgentQuotas(self, request, context, caller):
        first = month_first(request.month)
        township = self.checks.township(caller, request.township)
        with self.unit_of_work() as uow:
            q = self.checks.quotas(uow, township, first)
        return pb.AgentQuotasReply(month=request.month, township=township, ended=q.ended,
                                   agents=[agent_quota_view(a) for a in q.agents], below_quota=q.below_quota)

    @rpc
    def DrawSpotChecks(self, request, context, caller):
        first = month_first(request.month)
        township = self.checks.township(caller, request.township)
        with self.unit_of_work() as uow:
            return draw_view(self.checks.draw(uow, caller, request.request_id, township, first, request.count))

    @rpc
    def RecordSpotCheck(self, request, context, caller):
        with self.unit_of_work() as uow:
            return spot_check_view(self.checks.record_check(uow, caller, request.check_id,
                                                            _FINDINGS.get(request.finding, ""), request.note))

    @rpc
    def ListSpotChecks(self, request, context, caller):
        first = month_first(request.month)
        township = self.checks.township(caller, request.township)
        with self.unit_of_work() as uow:
            return pb.ListSpotChecksReply(draws=[draw_view(d) for d in self.checks.draws(uow, township, first)])

    @staticmethod
    def _criteria(c: pb.FollowUpCriteria) -> Criteria:
        from .grpc_api import period  # the API's one reading of a period

        since, until = period(c.period, "criteria.period")
        return Criteria(since, until, tuple(c.items), tuple(c.departments), tuple(c.agents), c.bad_ratings_only,
                        c.share or 0.35)

    @rpc
    def SuggestFollowUps(self, request, context, caller):
        criteria = self._criteria(request.criteria)
        with self.unit_of_work() as uow:
            s = self.checks.suggest(uow, criteria)
        return pb.FollowUpSuggestion(matched=s.matched, wanted=s.wanted, criteria=criteria.describe(), cases=[
            pb.FollowUpCandidate(case_number=r["case_number"], item_code=r["item_code"], department=r["department"],
                                 agent=r["agent"] or "", concluded_on=_day(r["concluded_on"]),
                                 worst_rating=r["worst"] or 0, call_id=r["call_id"] or 0) for r in s.cases])

    @rpc
    def SelectFollowUps(self, request, context, caller):
        with self.unit_of_work() as uow:
            calls = self.checks.select(uow, caller, list(request.case_numbers), request.criteria)
        return pb.ListFollowUpCallsReply(calls=[call_view(c) for c in calls])

    @rpc
    def RecordFollowUpCall(self, request, context, caller):
        with self.unit_of_work() as uow:
            return call_view(self.checks.record_call(uow, caller, request.call_id, request.outcome,
                                                     request.agent_fee))

    @rpc
    def ListFollowUpCalls(self, request, context, caller):
        if caller.role != Role.SUPERVISOR:
            raise Forbidden("the supervision office's calls")
        size = request.page_size or 100
        if not 1 <= size <= 500:
            raise InvalidRequest([("page_size", "between 1 and 500")])
        try:
            after = int(request.page_token or 0)
        except ValueError:
            raise InvalidRequest([("page_token", "a token from the previous page")]) from None
        with self.unit_of_work() as uow:
            rows = self.checks.calls(uow, request.open_only, after, size + 1)
        return pb.ListFollowUpCallsReply(calls=[call_view(c) for c in rows[:size]],
                                         next_page_token=str(rows[size - 1]["id"]) if len(rows) > size else "")
