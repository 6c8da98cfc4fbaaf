"""Ratings (好差评) and complaints (投诉): the use cases behind the supervision API.

A bad rating (1 or 2) opens a rectification item for whoever handled what was rated (谁办理谁负责)
with a clock of its own, so an item left open warns like a late case. Who answers for an item
closes it (fixed at once, put on the ledger, or explained), records the follow-up call (回访), or
appeals the rating (申诉复核), which the supervision office upholds (the rating is voided) or
dismisses. That is the department of what was rated; the acceptance at an organisation without a
department (an acceptance desk, a centre, a village room) is answered for by the centre
(便民服务中心) it belongs to, through the centre's clerk token. The office may act on any item.
A complaint is registered from any channel against a case or a department, and answered within
its limit; its clock warns too.

The public reaches two of these through the trusted web front, which names the real client: the
rating, of a whole case online or of a service act on site through the front's rating pad (评价器,
paired by county IT to one window: it rates that window's acts only), and the online complaint,
which needs a contact phone and is limited per client address. The complainant looks the answer up
with the complaint's number and the last 4 digits of that phone, without a token; failed guesses are
limited as intake's Track limits them.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace

from hall.catalogue import OrgChart
from hall.domain import VILLAGE_COMMITTEE, OrgKind
from hall.holders import SUPERVISION_OFFICE
from services.access import Caller, Role
from services.errors import Forbidden, InvalidRequest, NotAllowedNow, NotFound, TooManyAttempts, Violations
from services.timesource import local_day
from services.uow import UnitOfWork

from . import store
from .use_cases import COMPLAINT, RECTIFICATION, Supervision

LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
BAD = 2  # ratings at or below are bad reviews (差评)
RATING_CHANNELS = ("on_site", "online")
COMPLAINT_CHANNELS = ("phone", "letter", "mailbox", "online")
COMPLAINT_KINDS = ("service", "agent_fee")
RESOLUTIONS = ("fixed", "ledger", "explained")
PUBLIC_PHONE = re.compile(r"[0-9]{7,20}")  # a contact phone the public gives: digits only
LAST_DIGITS = re.compile(r"[0-9]{4}")


@dataclass(frozen=True)
class Rating:
    request_id: str
    case_number: str
    channel: str
    act: str  # '' for the whole case (online); on site: 'acceptance' or a task id
    level: int
    rater: str  # who rates: 'applicant', or the code of a clerk or agent rating on someone's behalf
    comment: str = ""
    named: bool = False
    window: str = ""  # on site through the web front: the window its rating pad is paired to


@dataclass(frozen=True)
class Complaint:
    request_id: str
    channel: str
    text: str
    case_number: str = ""
    department: str = ""
    contact: dict | None = None
    kind: str = "service"  # or agent_fee: an agent took a fee (四不, 无偿代办), against that agent
    agent: str = ""


@dataclass(frozen=True)
class PublicLimits:
    """What the public may do in a window of time: complaints through the front per client address
    (against flooding the office), and failed lookups per complaint (against guessing one
    complainant's 4 phone digits) and per client address (against trying many numbers)."""
    complaints_per_client: int = 5
    complaint_window: dt.timedelta = dt.timedelta(hours=1)
    failures_per_complaint: int = 5
    failures_per_client: int = 30
    lookup_window: dt.timedelta = dt.timedelta(hours=1)


def _front(caller: Caller | None) -> bool:
    """Whether the call comes from the public through the trusted web front (None: from within the hall)."""
    return caller is not None and caller.role == Role.FRONT


def centre_answering_for(chart: OrgChart, organisation: str) -> str | None:
    """The centre (便民服务中心) that answers for an organisation: a centre itself, the centre of a
    desk, window or back office, the township centre of a village room (the org chart makes a
    village room its own centre for transfers, but a room's duty clerks are run by the township's).
    None for an organisation gone from the org chart: only the office is left."""
    if (office := chart.organisation(organisation)) is None:
        return None
    centre = chart.centre_of(office)
    return centre.code if centre.kind == OrgKind.CENTRE else centre.parent


@dataclass
class Feedback:
    supervision: Supervision
    rectification_days: int
    complaint_limit_days: int
    limits: PublicLimits = field(default_factory=PublicLimits)

    @property
    def ref(self):
        return self.supervision.ref

    def _today(self, uow: UnitOfWork) -> dt.date:
        return local_day(uow.time.now())

    # --- ratings ---------------------------------------------------------------------------------

    def rate(self, uow: UnitOfWork, r: Rating, caller: Caller | None = None) -> dict:
        """Record a rating; the same request id again gives the same rating. The web front rates as
        the applicant: a whole case online, or on site for its rating pad (评价器), naming the window
        the pad is paired to; a pad rates that window's acts only. An organisation's rating device
        names no window, or its own."""
        front = _front(caller)
        if r.window and caller is not None and caller.role == Role.CLERK and r.window != caller.organisation:
            raise Forbidden(f"a rating device rates for its own window ({caller.organisation}) only, "
                            f"not {r.window[:100]}")
        v = Violations()
        v.require(r.request_id, "request_id")
        v.require(r.case_number, "case_number")
        v.require(r.rater, "rater")
        if front and r.rater and r.rater != "applicant":
            v.add("rater", "'applicant': through the web front the applicant rates")
        if r.level not in LEVELS:
            v.add("level", "1 (非常不满意) to 5 (非常满意)")
        if r.channel not in RATING_CHANNELS:
            v.add("channel", "ON_SITE or ONLINE")
        elif r.channel == "online" and r.act:
            v.add("act", "an online rating is for the whole case: leave act empty")
        elif r.channel == "on_site" and not r.act:
            v.add("act", "an on-site rating is for one service act: 'acceptance' or a task id")
        if len(r.comment) > 2000:
            v.add("comment", "at most 2000 characters")
        if len(r.act) > 200:
            v.add("act", "at most 200 characters")
        if r.channel == "online" and r.window:
            v.add("window", "an online rating is for the whole case: leave window empty")
        elif front and r.channel == "on_site" and not r.window:
            v.add("window", "required on site through the web front: the window the rating pad is paired to")
        elif r.window and self.ref.org.organisation(r.window) is None:
            v.add("window", f"no organisation {r.window[:100]!r}")
        v.check()
        if (earlier := store.rating_by_request(uow, r.request_id)) is not None:
            if (earlier["case_number"], earlier["channel"], earlier["act"], earlier["level"]) != \
                    (r.case_number, r.channel, r.act, r.level) or r.window and earlier["by_organisation"] != r.window:
                raise InvalidRequest([("request_id", "already used for a different rating")])
            return earlier
        facts = store.case(uow, r.case_number)
        if facts is None:
            raise NotFound(f"no accepted case {r.case_number!r}")
        if r.rater in (facts["first_clerk"], facts["agent"]):
            raise Forbidden("the clerk or agent of a case may not rate it")
        department, organisation, by = self._responsible(uow, facts, r.act)
        if r.window and by["organisation"] != r.window:  # the acceptance's organisation, or the task's
            raise Forbidden(f"this pad's window did not do this act: {r.act!r} of case {r.case_number} "
                            f"is not {r.window}'s")
        today = self._today(uow)
        rating = store.insert_rating(uow, r, department, organisation, by, today)
        if rating is None:
            raise NotAllowedNow("this case (or this service act) has been rated already" if r.channel == "online"
                                else f"the act {r.act!r} of this case has been rated already")
        if r.level <= BAD:
            store.open_rectification(uow, rating["id"], department, organisation, by["post"], today)
            self.supervision.open_clock(uow, None, RECTIFICATION, str(rating["id"]), department, today,
                                   self.rectification_days)
        return rating

    def _responsible(self, uow: UnitOfWork, facts: dict, act: str) -> tuple[str | None, str, dict]:
        """Who answers for what was rated: the accepting office (its department if it is a window;
        a desk, a centre or a village room has none, and `answerer` finds its centre), the
        department of a task, or the item's department for the whole case. And whose act it rates,
        the window and the person it counts for and the post its rectification goes to: the
        acceptance's (the accepting organisation, the first clerk), a task's (its window or office,
        who decided it), and for the whole case online the acceptance's too: under 首问负责制 the
        first-contact window answers to the applicant for the whole case."""
        first_contact = {"organisation": facts["organisation"], "person": facts["first_clerk"],
                         "post": facts["first_clerk_post"]}
        if act == "acceptance":
            office = self.ref.org.organisation(facts["organisation"])
            return office.department, office.code, first_contact
        if act:
            task = store.task_clock(uow, facts["case_number"], act)
            if task is None:
                raise InvalidRequest([("act", f"no task {act!r} in case {facts['case_number']}")])
            decided = {"organisation": task["organisation"] or "", "person": task["decided_by"] or "",
                       "post": task["decided_post"]}
            if task["department"] == VILLAGE_COMMITTEE:  # the room's own decision: its centre answers, as for
                return None, decided["organisation"], decided  # the room's acceptance
            return task["department"], task["department"], decided
        if facts["department"] == VILLAGE_COMMITTEE:  # a matter the village room settled itself
            return None, facts["organisation"], first_contact
        return facts["department"], facts["department"], first_contact

    def centre_answering_for(self, organisation: str) -> str | None:
        return centre_answering_for(self.ref.org, organisation)

    def organisations_answered_by(self, centre: str) -> list[str]:
        """The organisations without a department whose items a centre answers for."""
        return [o.code for o in self.ref.org.organisations
                if o.department is None and self.centre_answering_for(o.code) == centre]

    def answerer(self, item: dict) -> str:
        """Who answers for a rectification item: its department, else the centre of its organisation."""
        return item["department"] or self.centre_answering_for(item["organisation"]) or SUPERVISION_OFFICE

    def _may_answer(self, caller: Caller, item: dict) -> bool:
        if caller.role == Role.SUPERVISOR:
            return True
        if caller.role == Role.DEPARTMENT:
            return caller.code == item["department"]
        if caller.role in (Role.CLERK, Role.MANAGER):  # a centre's token or manager; a desk, window or room: nothing
            return item["department"] is None and caller.organisation == self.answerer(item)
        return False

    def _item(self, uow: UnitOfWork, rating_id: int, caller: Caller, lock: bool = True) -> dict:
        item = store.rectification(uow, rating_id, lock=lock)
        if item is None:
            raise NotFound(f"no rectification item for rating {rating_id}")
        if not self._may_answer(caller, item):
            raise Forbidden(f"rating {rating_id} is {self.answerer(item)}'s to answer")
        return item

    def rectify(self, uow: UnitOfWork, caller: Caller, rating_id: int, resolution: str, note: str) -> dict:
        v = Violations()
        if resolution not in RESOLUTIONS:
            v.add("resolution", "FIXED, LEDGER or EXPLAINED")
        v.require(note, "note", max_len=2000)
        v.check()
        item = self._item(uow, rating_id, caller)
        if item["resolved_on"] is not None:
            raise NotAllowedNow(f"rating {rating_id} was closed on {item['resolved_on']} ({item['resolution']})")
        today = self._today(uow)
        by = caller.actor()
        store.update_rectification(uow, rating_id, resolution=resolution, note=note, resolved_on=today, resolved_by=by)
        self.supervision.finish(uow, RECTIFICATION, str(rating_id), today)
        uow.emit("RectificationCompleted", item["case_number"], {"rating_id": rating_id, "resolution": resolution,
                                                                  "note": note, "by": by})
        return store.rectification(uow, rating_id)

    def follow_up(self, uow: UnitOfWork, caller: Caller, rating_id: int, outcome: str) -> dict:
        if not outcome.strip():
            raise InvalidRequest([("outcome", "required: what the applicant said")])
        _at_most(outcome, "outcome", 2000)
        self._item(uow, rating_id, caller)
        store.update_rectification(uow, rating_id, follow_up=outcome, followed_up_on=self._today(uow),
                                   followed_up_by=caller.actor())
        return store.rectification(uow, rating_id)

    def appeal(self, uow: UnitOfWork, caller: Caller, rating_id: int, reason: str) -> dict:
        if not reason.strip():
            raise InvalidRequest([("reason", "required")])
        _at_most(reason, "reason", 2000)
        item = self._item(uow, rating_id, caller)
        if item["appealed_on"] is not None:
            raise NotAllowedNow(f"rating {rating_id} was appealed on {item['appealed_on']}")
        if item["resolved_on"] is not None:
            raise NotAllowedNow(f"rating {rating_id} is closed")
        store.update_rectification(uow, rating_id, appeal=reason, appealed_on=self._today(uow),
                                   appealed_by=caller.actor())
        return store.rectification(uow, rating_id)

    def review_appeal(self, uow: UnitOfWork, caller: Caller, rating_id: int, upheld: bool, note: str) -> dict:
        if caller.role != Role.SUPERVISOR:
            raise Forbidden("appeals are reviewed by the supervision office")
        if not note.strip():
            raise InvalidRequest([("note", "required: the review's reasons")])
        _at_most(note, "note", 2000)
        item = self._item(uow, rating_id, caller)
        if item["appealed_on"] is None or item["reviewed_on"] is not None:
            raise NotAllowedNow(f"rating {rating_id} has no appeal waiting for review")
        today = self._today(uow)
        store.update_rectification(uow, rating_id, appeal_upheld=upheld, reviewed_on=today, reviewed_by=caller.actor())
        if upheld:  # wrongly given: the rating no longer counts and nothing is left to rectify
            store.void_rating(uow, rating_id, today)
            store.update_rectification(uow, rating_id, resolution="voided", note=note, resolved_on=today,
                                       resolved_by=caller.actor())
            self.supervision.finish(uow, RECTIFICATION, str(rating_id), today)
        return store.rectification(uow, rating_id)

    # --- complaints ------------------------------------------------------------------------------

    def complain(self, uow: UnitOfWork, c: Complaint, caller: Caller | None = None) -> dict:
        """Register a complaint; the same request id again gives the same complaint. Through the web
        front: online only, with a contact phone (the lookup's key), a limited number per client."""
        front = _front(caller)
        if front and c.channel in COMPLAINT_CHANNELS and c.channel != "online":
            raise Forbidden("the web front files online complaints (ONLINE_FORM) only")
        v = Violations()
        v.require(c.request_id, "request_id")
        v.require(c.text, "text", max_len=5000)
        if c.channel not in COMPLAINT_CHANNELS:
            v.add("channel", "ONLINE_FORM" if front else "PHONE, LETTER, MAILBOX or ONLINE")
        if c.kind not in COMPLAINT_KINDS:
            v.add("kind", "SERVICE or AGENT_FEE")
        if c.kind == "agent_fee":
            if c.agent and self.ref.org.agent(c.agent) is None:
                v.add("agent", f"no agent {c.agent!r}")
            elif not (c.agent or c.case_number):
                v.add("agent", "a fee complaint names the agent, or the case the agent carried")
        elif c.agent:
            v.add("agent", "only a fee complaint (AGENT_FEE) names an agent")
        elif not (c.case_number or c.department):
            v.add("case_number", "a complaint is about a case or a department: give one")
        if c.department and self.ref.org.department(c.department) is None:
            v.add("department", f"no department {c.department!r}")
        limits = {"name": 100, "phone": 20, "email": 254}
        for key, value in (c.contact or {}).items():
            if len(value) > limits[key] and not (front and key == "phone"):
                v.add(f"contact_{key}", f"at most {limits[key]} characters")
        if front and not PUBLIC_PHONE.fullmatch((c.contact or {}).get("phone", "")):
            v.add("contact_phone", "required online, 7 to 20 digits: the answer is looked up with its last 4")
        v.check()
        if (earlier := store.complaint_by_request(uow, c.request_id)) is not None:
            if (earlier["text"], earlier["case_number"] or "") != (c.text, c.case_number):
                raise InvalidRequest([("request_id", "already used for a different complaint")])
            return earlier  # not counted again
        if front:
            self._within_client_limit(uow, caller.client)
        department = c.department
        if c.case_number:
            facts = store.case(uow, c.case_number)
            if facts is None:
                raise NotFound(f"no accepted case {c.case_number!r}")
            department = department or facts["department"]
            if c.kind == "agent_fee":
                carriers = {facts.get("agent"), facts.get("accompanied_by")} - {None}
                if not carriers or (c.agent and c.agent not in carriers):
                    raise InvalidRequest([("agent", f"no agent {c.agent!r} carried case {c.case_number}"
                                           if c.agent else f"no agent carried case {c.case_number}")])
                c = replace(c, agent=c.agent or sorted(carriers)[0])
        department = department or SUPERVISION_OFFICE  # a fee complaint naming no case: the office answers it
        today = self._today(uow)
        complaint = store.insert_complaint(uow, c, department, today, caller.actor() if caller else None)
        self.supervision.open_clock(uow, None, COMPLAINT, str(complaint["id"]), department, today,
                                    self.complaint_limit_days)
        if front:
            store.record_front_complaint(uow, complaint["id"], caller.client,
                                         uow.time.now() - self.limits.complaint_window)
        return complaint

    def _within_client_limit(self, uow: UnitOfWork, client: str) -> None:
        store.take_turn(uow, "front_complaints", client)
        since = uow.time.now() - self.limits.complaint_window
        if store.complaints_from(uow, client, since) >= self.limits.complaints_per_client:
            raise TooManyAttempts("too many complaints from this address: try again later, or call or write to "
                                  "the supervision office")

    def look_up_complaint(self, uow: UnitOfWork, complaint_id: int, phone_last4: str, client: str) -> dict | None:
        """The complainant's view of a complaint, found only with the last 4 digits of its contact
        phone: its department, dates and answer, no contact and no text.

        None for an unknown number or wrong digits, recorded as a failed guess of `client` (the caller
        commits it and answers NOT_FOUND); past the limits every answer is TooManyAttempts for a while.
        """
        limits = self.limits
        since = uow.time.now() - limits.lookup_window
        store.take_turn(uow, "lookup_failures", str(complaint_id))
        by_complaint, by_client = store.failed_lookups(uow, complaint_id, client, since)
        if by_complaint >= limits.failures_per_complaint or by_client >= limits.failures_per_client:
            raise TooManyAttempts("too many failed attempts: try again later, or call the supervision office")
        row = store.complaint(uow, complaint_id)
        phone = re.sub(r"[^0-9]", "", ((row or {}).get("contact") or {}).get("phone", ""))
        if row is None or not LAST_DIGITS.fullmatch(phone_last4) or not phone.endswith(phone_last4):
            store.record_failed_lookup(uow, complaint_id, client, since)
            return None
        department = self.ref.org.department(row["department"])
        return {"id": row["id"], "case_number": row["case_number"], "registered_on": row["registered_on"],
                "deadline": row["deadline"], "answer": row["answer"], "answered_on": row["answered_on"],
                "department_name": department.name if department else row["department"]}

    def answer_complaint(self, uow: UnitOfWork, caller: Caller, complaint_id: int, answer: str) -> dict:
        if not answer.strip():
            raise InvalidRequest([("answer", "required")])
        _at_most(answer, "answer", 5000)
        complaint = store.complaint(uow, complaint_id, lock=True)
        if complaint is None:
            raise NotFound(f"no complaint {complaint_id}")
        if caller.code not in (SUPERVISION_OFFICE, complaint["department"]):
            raise Forbidden(f"complaint {complaint_id} is {complaint['department']}'s to answer")
        if complaint["answered_on"] is not None:
            raise NotAllowedNow(f"complaint {complaint_id} was answered on {complaint['answered_on']}")
        today = self._today(uow)
        by = caller.actor()
        store.answer_complaint(uow, complaint_id, answer, today, by)
        self.supervision.finish(uow, COMPLAINT, str(complaint_id), today)
        uow.emit("ComplaintAnswered", complaint["case_number"], {
            "complaint_id": complaint_id, "department": complaint["department"], "answer": answer,
            "contact": complaint["contact"], "by": by})
        return store.complaint(uow, complaint_id)


def _at_most(text: str, field: str, limit: int) -> None:
    """Free text is stored and sent on in events and notices: bounded like its siblings."""
    if len(text) > limit:
        raise InvalidRequest([(field, f"at most {limit} characters")])
