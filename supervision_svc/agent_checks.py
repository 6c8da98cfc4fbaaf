"""The 代办制's quotas and checks (seeds/004), the use cases behind their supervision API.

- Quotas: each agent of a township (its township centre's own 乡级代办员 and the 村级 and 组级 agents of its
  village rooms) with its month's figures against its quota (org chart: 1 a week, 2 a month, 1 a month), the
  complaints that it took a fee (无偿代办), and, once the month has ended, those below quota: the list the
  township's manager (their own township only), the supervision office and leaders read at month end.
- 抽查: the township (its manager) draws some of its agents' cases of a month at random. The draw keeps its
  seed, so the same seed over the same cases draws the same cases again (a test gives its own); whoever
  checks a drawn case records the finding (落实 or not, with a note), once.
- 回访: the supervision (discipline) office chooses concluded cases to call back by criteria it sets (a
  period of conclusion, items, departments, agents, bad ratings only) and a share (35% by default,
  seeds/004: 筛选35%的办事内容进行回访). The system suggests that share of the cases the criteria match: those
  with a standing bad rating first (worst first), the rest drawn at random; the office selects (any of
  them), and records each call's outcome. A call on a case with a named bad rating not yet followed up is
  also that rectification item's follow-up call (feedback.follow_up's record), so the 回访率 counts it; a call
  that hears the agent took a fee registers that complaint against the agent (无偿代办) in the same act.
"""
from __future__ import annotations

import datetime as dt
import math
import random
import secrets
from dataclasses import dataclass

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from hall.domain import Level, OrgKind
from hall.reference import Reference
from services.access import Caller, Role
from services.errors import Forbidden, InvalidRequest, NotAllowedNow, NotFound, Violations
from services.timesource import local_day
from services.uow import UnitOfWork

from . import store
from .feedback import BAD, Complaint, Feedback
from .figures import AgentFigures, agent_figures

FINDINGS = ("carried_out", "not_carried_out")  # 落实 / 未落实
FOLLOW_UP_SHARE = 0.35  # seeds/004
MAX_DRAW = 50
MAX_SELECTED = 500


@dataclass(frozen=True)
class AgentQuota:
    figures: AgentFigures
    tier: str  # township, village, group
    group: str  # a group agent's villager group
    fee_complaints: int  # 无偿代办: complaints registered in the period that it took a fee


@dataclass(frozen=True)
class TownshipQuotas:
    township: str
    since: dt.date
    until: dt.date
    ended: bool  # the month is over: the below-quota list stands
    agents: list[AgentQuota]

    @property
    def below_quota(self) -> list[str]:
        """The agents below their quota, listed once the month has ended."""
        return [a.figures.agent for a in self.agents if not a.figures.met] if self.ended else []


@dataclass(frozen=True)
class Criteria:
    """What the office chooses follow-up calls (回访) from: cases concluded in since..until, of these items,
    departments and agents when given (carried or accompanied), with a standing bad rating when bad_only."""

    since: dt.date
    until: dt.date
    items: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    bad_only: bool = False
    share: float = FOLLOW_UP_SHARE

    def describe(self) -> str:
        parts = [f"{self.since}..{self.until}", f"share {self.share:.2f}"]
        for name, values in (("items", self.items), ("departments", self.departments), ("agents", self.agents)):
            if values:
                parts.append(f"{name} {','.join(values)}")
        if self.bad_only:
            parts.append("bad ratings")
        return "; ".join(parts)


@dataclass(frozen=True)
class Suggestion:
    matched: int  # the cases the criteria match
    wanted: int  # the share of them to call
    seed: int
    cases: list[dict]  # the suggested ones not yet selected, then those already selected


def _rows(uow: UnitOfWork, query: str, params) -> list[dict]:
    return uow.conn.cursor(row_factory=dict_row).execute(query, params).fetchall()


def month_of(first: dt.date) -> tuple[dt.date, dt.date]:
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, nxt - dt.timedelta(days=1)


class AgentChecks:
    def __init__(self, ref: Reference, feedback: Feedback | None = None):
        self.ref, self.feedback = ref, feedback

    @staticmethod
    def today(uow: UnitOfWork) -> dt.date:
        return local_day(uow.time.now())

    # --- scope ------------------------------------------------------------------------------------

    def township(self, caller: Caller, asked: str) -> str:
        """The township a caller reads or checks: a manager their own centre's (which must be a township's);
        the office and leaders the one they name."""
        if caller.role == Role.MANAGER:
            if asked and asked != caller.organisation:
                raise Forbidden(f"{caller} reads the agents of {caller.organisation} only")
            asked = caller.organisation
        org = self.ref.org.organisation(asked) if asked else None
        if org is None or org.kind != OrgKind.CENTRE or org.level != Level.TOWNSHIP:
            raise InvalidRequest([("township", "a township centre's code")])
        return asked

    def agents_of(self, township: str) -> list:
        chart = self.ref.org
        return [a for a in chart.agents if chart.township_of(a.organisation) == township]

    # --- quotas -----------------------------------------------------------------------------------

    def quotas(self, uow: UnitOfWork, township: str, first: dt.date) -> TownshipQuotas:
        since, until = month_of(first)
        mine = {a.code: a for a in self.agents_of(township)}
        figures = [f for f in agent_figures(uow, self.ref, since, until) if f.agent in mine]
        fees = dict(uow.execute("SELECT agent, count(*) FROM complaints WHERE kind = 'agent_fee' AND "
                                "agent = ANY(%s) AND registered_on BETWEEN %s AND %s GROUP BY agent",
                                [list(mine), since, until]).fetchall())
        agents = [AgentQuota(f, self.ref.org.agent_tier(mine[f.agent]), mine[f.agent].group or "",
                             fees.get(f.agent, 0)) for f in figures]
        agents.sort(key=lambda a: (a.figures.met, a.figures.organisation, a.figures.agent))
        return TownshipQuotas(township, since, until, self.today(uow) > until, agents)

    # --- 抽查 -------------------------------------------------------------------------------------

    def pool(self, uow: UnitOfWork, township: str, since: dt.date, until: dt.date) -> list[tuple[str, str]]:
        """(case, agent) of every case the township's agents carried or accompanied, accepted in the period."""
        codes = [a.code for a in self.agents_of(township)]
        return [tuple(r) for r in uow.execute(
            "SELECT case_number, coalesce(agent, accompanied_by) FROM cases WHERE accepted_on BETWEEN %s AND %s "
            "AND (agent = ANY(%s) OR accompanied_by = ANY(%s)) ORDER BY case_number",
            [since, until, codes, codes]).fetchall()]

    def draw(self, uow: UnitOfWork, caller: Caller, request_id: str, township: str, first: dt.date, count: int,
             seed: int | None = None) -> dict:
        v = Violations()
        v.require(request_id, "request_id")
        if not 1 <= count <= MAX_DRAW:
            v.add("count", f"between 1 and {MAX_DRAW}")
        v.check()
        uow.execute("SELECT pg_advisory_xact_lock(hashtext('spot_check_draws'), hashtext(%s))", [request_id])
        earlier = uow.execute("SELECT id, township, month FROM spot_check_draws WHERE request_id = %s",
                              [request_id]).fetchone()
        if earlier is not None:
            if (earlier[1], earlier[2]) != (township, first):
                raise InvalidRequest([("request_id", "already used for another township or month")])
            return self.draw_view(uow, earlier[0])
        since, until = month_of(first)
        if since > self.today(uow):
            raise InvalidRequest([("month", "this month or one before")])
        pool = self.pool(uow, township, since, until)
        seed = secrets.randbits(62) if seed is None else seed
        drawn = random.Random(seed).sample(pool, min(count, len(pool)))
        (draw_id,) = uow.execute(
            "INSERT INTO spot_check_draws (request_id, township, month, seed, pool, drawn_on, drawn_by) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
            [request_id, township, first, seed, len(pool), self.today(uow), Jsonb(caller.actor())]).fetchone()
        for case, agent in sorted(drawn):
            uow.execute("INSERT INTO spot_checks (draw_id, case_number, agent) VALUES (%s, %s, %s)",
                        [draw_id, case, agent])
        return self.draw_view(uow, draw_id)

    def draw_view(self, uow: UnitOfWork, draw_id: int) -> dict:
        draw = _rows(uow, "SELECT * FROM spot_check_draws WHERE id = %s", [draw_id])[0]
        draw["checks"] = _rows(uow, "SELECT s.*, c.item_code, c.accepted_on FROM spot_checks s "
                                         "JOIN cases c USING (case_number) WHERE s.draw_id = %s ORDER BY s.id",
                                    [draw_id])
        return draw

    def draws(self, uow: UnitOfWork, township: str, first: dt.date) -> list[dict]:
        ids = uow.execute("SELECT id FROM spot_check_draws WHERE township = %s AND month = %s ORDER BY id",
                          [township, first]).fetchall()
        return [self.draw_view(uow, i) for (i,) in ids]

    def record_check(self, uow: UnitOfWork, caller: Caller, check_id: int, finding: str, note: str) -> dict:
        v = Violations()
        if finding not in FINDINGS:
            v.add("finding", "CARRIED_OUT or NOT_CARRIED_OUT")
        if len(note) > 2000:
            v.add("note", "at most 2000 characters")
        elif finding == "not_carried_out" and not note.strip():
            v.add("note", "required when not carried out: what was found")
        v.check()
        row = uow.execute("SELECT s.draw_id, d.township, s.checked_on FROM spot_checks s JOIN spot_check_draws d "
                          "ON d.id = s.draw_id WHERE s.id = %s FOR UPDATE OF s", [check_id]).fetchone()
        if row is None:
            raise NotFound(f"no spot check {check_id}")
        draw_id, township, checked_on = row
        if caller.role == Role.MANAGER and caller.organisation != township:
            raise Forbidden(f"spot check {check_id} is {township}'s")
        if checked_on is not None:
            raise NotAllowedNow(f"spot check {check_id} was recorded on {checked_on}")
        uow.execute("UPDATE spot_checks SET finding = %s, note = %s, checked_on = %s, checked_by = %s WHERE id = %s",
                    [finding, note.strip(), self.today(uow), Jsonb(caller.actor()), check_id])
        return next(c for c in self.draw_view(uow, draw_id)["checks"] if c["id"] == check_id)

    def check_township(self, uow: UnitOfWork, check_id: int) -> str | None:
        row = uow.execute("SELECT d.township FROM spot_checks s JOIN spot_check_draws d ON d.id = s.draw_id "
                          "WHERE s.id = %s", [check_id]).fetchone()
        return row[0] if row else None

    # --- 回访 -------------------------------------------------------------------------------------

    def criteria_problems(self, c: Criteria) -> None:
        v = Violations()
        if not 0 < c.share <= 1:
            v.add("share", "more than 0 and at most 1")
        for i, code in enumerate(c.items):
            if self.ref.catalogue.item(code) is None:
                v.add(f"items[{i}]", f"no item {code!r}")
        for i, code in enumerate(c.departments):
            if self.ref.org.department(code) is None:
                v.add(f"departments[{i}]", f"no department {code!r}")
        for i, code in enumerate(c.agents):
            if self.ref.org.agent(code) is None:
                v.add(f"agents[{i}]", f"no agent {code!r}")
        v.check()

    def matching(self, uow: UnitOfWork, c: Criteria) -> list[dict]:
        """The cases the criteria match, with their worst standing rating and whether already selected."""
        self.criteria_problems(c)
        query = ("SELECT c.case_number, c.item_code, c.department, coalesce(c.agent, c.accompanied_by) AS agent, "
                 "c.concluded_on, (SELECT min(g.level) FROM ratings g WHERE g.case_number = c.case_number "
                 "AND g.voided_on IS NULL) AS worst, f.id AS call_id FROM cases c "
                 "LEFT JOIN follow_up_calls f USING (case_number) "
                 "WHERE c.concluded_on BETWEEN %(since)s AND %(until)s AND c.result <> 'withdrawn'")
        if c.items:
            query += " AND c.item_code = ANY(%(items)s)"
        if c.departments:
            query += " AND c.department = ANY(%(departments)s)"
        if c.agents:
            query += " AND (c.agent = ANY(%(agents)s) OR c.accompanied_by = ANY(%(agents)s))"
        if c.bad_only:
            query += (" AND EXISTS (SELECT 1 FROM ratings g WHERE g.case_number = c.case_number "
                      "AND g.voided_on IS NULL AND g.level <= %(bad)s)")
        return _rows(uow, query + " ORDER BY c.case_number", {
            "since": c.since, "until": c.until, "items": list(c.items), "departments": list(c.departments),
            "agents": list(c.agents), "bad": BAD})

    def suggest(self, uow: UnitOfWork, c: Criteria, seed: int | None = None) -> Suggestion:
        found = self.matching(uow, c)
        wanted = math.ceil(c.share * len(found) - 1e-9)
        chosen = [r for r in found if r["call_id"] is not None]
        free = [r for r in found if r["call_id"] is None]
        bad = sorted((r for r in free if r["worst"] is not None and r["worst"] <= BAD),
                     key=lambda r: (r["worst"], r["concluded_on"], r["case_number"]))
        rest = [r for r in free if r not in bad]
        seed = secrets.randbits(62) if seed is None else seed
        need = max(0, wanted - len(chosen))
        picked = bad[:need]
        picked += sorted(random.Random(seed).sample(rest, min(need - len(picked), len(rest))),
                         key=lambda r: r["case_number"])
        return Suggestion(len(found), wanted, seed, picked + chosen)

    def select(self, uow: UnitOfWork, caller: Caller, cases: list[str], criteria: str) -> list[dict]:
        v = Violations()
        if not 1 <= len(cases) <= MAX_SELECTED:
            v.add("case_numbers", f"1 to {MAX_SELECTED} cases")
        if len(criteria) > 2000:
            v.add("criteria", "at most 2000 characters")
        concluded = {r[0] for r in uow.execute(
            "SELECT case_number FROM cases WHERE case_number = ANY(%s) AND concluded_on IS NOT NULL "
            "AND result <> 'withdrawn'", [cases]).fetchall()}
        for i, case in enumerate(cases):
            if case not in concluded:
                v.add(f"case_numbers[{i}]", f"{case!r} is no concluded case")
        v.check()
        for case in dict.fromkeys(cases):
            uow.execute("INSERT INTO follow_up_calls (case_number, criteria, selected_on, selected_by) "
                        "VALUES (%s, %s, %s, %s) ON CONFLICT (case_number) DO NOTHING",
                        [case, criteria.strip(), self.today(uow), Jsonb(caller.actor())])
        return _rows(uow, f"{_CALL} WHERE f.case_number = ANY(%s) ORDER BY f.id", [cases])

    def record_call(self, uow: UnitOfWork, caller: Caller, call_id: int, outcome: str, agent_fee: bool = False) -> dict:
        """The call's outcome, once. With `agent_fee` the applicant said the agent took a fee (无偿代办): the
        same act registers that complaint against the agent who carried the case (none: nothing is recorded)."""
        if not outcome.strip():
            raise InvalidRequest([("outcome", "required: what the applicant said")])
        if len(outcome) > 2000:
            raise InvalidRequest([("outcome", "at most 2000 characters")])
        row = uow.execute("SELECT case_number, called_on FROM follow_up_calls WHERE id = %s FOR UPDATE",
                          [call_id]).fetchone()
        if row is None:
            raise NotFound(f"no follow-up call {call_id}")
        case, called_on = row
        if called_on is not None:
            raise NotAllowedNow(f"follow-up call {call_id} was recorded on {called_on}")
        today, by = self.today(uow), caller.actor()
        rating = uow.execute(
            "SELECT g.id FROM ratings g JOIN rectifications r ON r.rating_id = g.id WHERE g.case_number = %s "
            "AND g.level <= %s AND g.named AND g.voided_on IS NULL AND r.followed_up_on IS NULL "
            "ORDER BY g.level, g.id LIMIT 1", [case, BAD]).fetchone()
        if rating is not None:  # the rectification item's own follow-up call (回访), as feedback records it
            store.update_rectification(uow, rating[0], follow_up=outcome.strip(), followed_up_on=today,
                                       followed_up_by=by)
        uow.execute("UPDATE follow_up_calls SET outcome = %s, called_on = %s, called_by = %s, rating_id = %s "
                    "WHERE id = %s", [outcome.strip(), today, Jsonb(by), rating[0] if rating else None,
                                      call_id])
        if agent_fee:
            self.feedback.complain(uow, Complaint(f"follow-up-call-{call_id}", "phone", outcome.strip(), case,
                                                  kind="agent_fee"), caller)
        return _rows(uow, f"{_CALL} WHERE f.id = %s", [call_id])[0]

    def calls(self, uow: UnitOfWork, open_only: bool, after: int, limit: int) -> list[dict]:
        query = f"{_CALL} WHERE f.id > %s" + (" AND f.called_on IS NULL" if open_only else "")
        return _rows(uow, query + " ORDER BY f.id LIMIT %s", [after, limit])


_CALL = ("SELECT f.*, c.item_code, c.department, coalesce(c.agent, c.accompanied_by) AS agent, c.concluded_on "
         "FROM follow_up_calls f JOIN cases c USING (case_number)")
