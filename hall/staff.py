"""The staff register (工作人员名册): who works in the hall, at which posts, as A or B holder.

A reference file like the org chart, written by hand and checked against it: every problem is
reported with its file, line and field, all at once. Unlike the org chart it changes while the
hall is open (a clerk leaves, a village cadre joins the rota), so `Staff` re-reads it without a
restart and an edit revokes or grants a post within seconds. It holds no secrets: passwords are
kept elsewhere, by staff number.

A post is a seat at an organisation (`county-desk/acceptance_clerk/2`); each post has one A holder
(A岗, who does the work) and at most one B holder (B岗, who stands in when A is away).
"""
from __future__ import annotations

import hashlib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from services.watched import RECHECK_SECONDS, WatchedFile
from services.yamlfile import ConfigFileError, Document

from .catalogue import Code, Name, Organisation, OrgChart
from .domain import Level, OrgKind

HolderMark = Literal["A", "B"]


class PostKind(StrEnum):
    ACCEPTANCE_CLERK = "acceptance_clerk"
    WINDOW_CLERK = "window_clerk"
    HANDLER = "handler"
    APPROVER = "approver"
    CHECKER = "checker"
    CENTRE_MANAGER = "centre_manager"
    SUPERVISION_OFFICER = "supervision_officer"
    LEADER = "leader"
    PROXY_AGENT = "proxy_agent"
    IT_ADMIN = "it_admin"

    @property
    def label(self) -> str:
        return _LABELS[self]

    def sits_at(self, org: Organisation) -> bool:
        """Whether this post belongs at `org`: a clerk at a desk, a handler at a window, …"""
        return any(org.kind == kind and level in (None, org.level) for kind, level in _PLACES[self])

    @property
    def places(self) -> str:
        """Where the post belongs, as an error message says it."""
        return " or ".join(_a(f"{level.value} {kind.value}" if level else kind.value) for kind, level in _PLACES[self])


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


_LABELS = {
    PostKind.ACCEPTANCE_CLERK: "受理员",
    PostKind.WINDOW_CLERK: "窗口受理",
    PostKind.HANDLER: "承办",
    PostKind.APPROVER: "审批人",
    PostKind.CHECKER: "核准人",
    PostKind.CENTRE_MANAGER: "中心主任",
    PostKind.SUPERVISION_OFFICER: "电子监察",
    PostKind.LEADER: "带班领导",
    PostKind.PROXY_AGENT: "代办员",
    PostKind.IT_ADMIN: "信息中心",
}

# (kind of organisation, its level or None for any level) where each post may be held
_PLACES: dict[PostKind, tuple[tuple[OrgKind, Level | None], ...]] = {
    PostKind.ACCEPTANCE_CLERK: ((OrgKind.ACCEPTANCE_DESK, None), (OrgKind.VILLAGE_ROOM, None)),
    PostKind.WINDOW_CLERK: ((OrgKind.WINDOW, None),),
    PostKind.HANDLER: ((OrgKind.WINDOW, None), (OrgKind.BACK_OFFICE, None)),
    PostKind.APPROVER: ((OrgKind.WINDOW, None), (OrgKind.BACK_OFFICE, None)),
    PostKind.CHECKER: ((OrgKind.WINDOW, None), (OrgKind.BACK_OFFICE, None)),
    PostKind.CENTRE_MANAGER: ((OrgKind.CENTRE, None),),
    PostKind.SUPERVISION_OFFICER: ((OrgKind.CENTRE, Level.COUNTY),),
    PostKind.LEADER: ((OrgKind.CENTRE, None),),
    PostKind.PROXY_AGENT: ((OrgKind.VILLAGE_ROOM, None), (OrgKind.CENTRE, Level.TOWNSHIP)),
    PostKind.IT_ADMIN: ((OrgKind.CENTRE, Level.COUNTY),),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Holding(_Strict):
    """One post a person holds."""

    post: PostKind
    at: Code  # the organisation
    seat: Annotated[int, Field(ge=1, le=99)] = 1  # several clerks at one desk are seats 1, 2, 3 …
    holder: HolderMark = "A"
    agent: Code | None = None  # the org chart's agent a proxy_agent is

    @model_validator(mode="after")
    def _agent(self) -> Holding:
        if self.post == PostKind.PROXY_AGENT and self.agent is None:
            raise ValueError("a proxy_agent must name the agent of the org chart it is")
        if self.post != PostKind.PROXY_AGENT and self.agent is not None:
            raise ValueError("only a proxy_agent names an agent")
        return self

    @property
    def post_id(self) -> str:
        return f"{self.at}/{self.post}/{self.seat}"


class Person(_Strict):
    staff_number: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{2,31}$")]
    name: Annotated[str, Field(min_length=1, max_length=50)]
    work_phone: Annotated[str, Field(pattern=r"^[0-9]+(-[0-9]+)*$", min_length=5, max_length=20)]
    posts: Annotated[list[Holding], Field(min_length=1)]
    active: bool = True  # false: left or suspended; kept on record, may not sign in


class StaffRegister(_Strict):
    county: Name
    persons: list[Person]
    _persons: dict[str, Person] = PrivateAttr(default_factory=dict)
    _holders: dict[str, dict[str, Person]] = PrivateAttr(default_factory=dict)
    _posts: dict[tuple[str, str], list[str]] = PrivateAttr(default_factory=dict)
    _version: str = PrivateAttr("")

    def model_post_init(self, _context) -> None:
        self._persons = {p.staff_number: p for p in self.persons}
        for person in self.persons:
            for held in person.posts:
                if person.active:
                    self._holders.setdefault(held.post_id, {})[held.holder] = person
                    posts = self._posts.setdefault((held.at, held.post.value), [])
                    if held.post_id not in posts:
                        posts.append(held.post_id)
        for posts in self._posts.values():
            posts.sort(key=lambda post: int(post.rsplit("/", 1)[1]))
        self._version = hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]

    @property
    def version(self) -> str:
        """A digest of the content: equal registers have equal versions, whatever the file's comments
        and layout, so whatever was derived from one register can tell it is out of date."""
        return self._version

    def person(self, staff_number: str) -> Person | None:
        return self._persons.get(staff_number)

    def holding(self, staff_number: str, post_id: str) -> Holding | None:
        """The person's holding of that post; None also when the person is inactive, since an
        inactive person holds nothing."""
        person = self._persons.get(staff_number)
        if person is None or not person.active:
            return None
        return next((h for h in person.posts if h.post_id == post_id), None)

    def holders(self, post_id: str) -> dict[HolderMark, Person]:
        """The active A and B holders of a post ("A" missing while A is inactive: B stands in)."""
        return dict(self._holders.get(post_id, {}))

    def posts(self, organisation: str, kind: PostKind) -> list[str]:
        """The ids of the posts of a kind at an organisation that someone active holds, by seat
        (indexed once per register: new tasks ask it for every organisation of a stage)."""
        return list(self._posts.get((organisation, PostKind(kind).value), []))

    def holds(self, staff_number: str, organisation: str, kind: PostKind) -> bool:
        """Whether an active person holds a post of this kind at this organisation (as A or B)."""
        person = self._persons.get(staff_number)
        return person is not None and person.active and any(
            h.at == organisation and h.post == kind for h in person.posts)

    def active_holdings(self) -> list[tuple[str, str]]:
        """(staff_number, post_id) of every post held by an active person."""
        return [(p.staff_number, h.post_id) for p in self.persons if p.active for h in p.posts]


def _check(doc: Document, register: StaffRegister, org: OrgChart) -> list:
    """What the models alone cannot see: references into the org chart and the holders of each post.

    Only active persons count as a post's A or B holder, so a person who left stays on record with
    the posts they held while a successor takes them; but a B holder needs an A holder on record,
    active or not (B stands in for a suspended A)."""
    problems = []
    if register.county != org.county:
        problems.append(doc.problem(("county",), f"the org chart is of {org.county!r}"))
    numbers: set[str] = set()
    held: dict[tuple[str, str], str] = {}  # (post_id, A/B) of active persons -> staff number
    on_record: set[str] = set()  # post_ids with an A holder, active or not
    agents: dict[str, str] = {}  # agent code -> staff number of its active A holder
    b_holders: list[tuple[tuple, str]] = []
    for i, person in enumerate(register.persons):
        if person.staff_number in numbers:
            reason = f"duplicate staff number {person.staff_number!r}"
            problems.append(doc.problem(("persons", i, "staff_number"), reason))
        numbers.add(person.staff_number)
        own: set[str] = set()
        for j, holding in enumerate(person.posts):
            loc = ("persons", i, "posts", j)
            post_id = holding.post_id
            if post_id in own:
                problems.append(doc.problem(loc, f"{post_id} is held twice by {person.staff_number}"))
                continue
            own.add(post_id)
            where = org.organisation(holding.at)
            if where is None:
                reason = f"unknown organisation {holding.at!r} (not in the org chart)"
                problems.append(doc.problem(loc + ("at",), reason))
                continue
            if not holding.post.sits_at(where):
                reason = (f"{_a(holding.post)} sits at {holding.post.places}; "
                          f"{holding.at} is {_a(where.level.value)} {where.kind.value}")
                problems.append(doc.problem(loc + ("post",), reason))
                continue
            if holding.agent is not None:
                agent = org.agent(holding.agent)
                if agent is None:
                    reason = f"unknown agent {holding.agent!r} (not in the org chart)"
                    problems.append(doc.problem(loc + ("agent",), reason))
                    continue
                if agent.organisation != holding.at:
                    reason = f"agent {holding.agent} belongs to {agent.organisation}, not {holding.at}"
                    problems.append(doc.problem(loc + ("agent",), reason))
                    continue
                if person.active and holding.holder == "A":
                    if (other := agents.get(holding.agent)) is not None:
                        reason = f"agent {holding.agent} is already {other} (as A)"
                        problems.append(doc.problem(loc + ("agent",), reason))
                        continue
                    agents[holding.agent] = person.staff_number
            if holding.holder == "A":
                on_record.add(post_id)
            else:
                b_holders.append((loc + ("holder",), post_id))
            if person.active:
                if (other := held.get((post_id, holding.holder))) is not None:
                    reason = f"{post_id} already has {other} as its {holding.holder} holder"
                    problems.append(doc.problem(loc + ("holder",), reason))
                else:
                    held[(post_id, holding.holder)] = person.staff_number
    for loc, post_id in b_holders:
        if post_id not in on_record:
            problems.append(doc.problem(loc, f"{post_id} has a B holder but no A holder"))
    problems.sort(key=lambda p: p[0] or 0)  # in the order of the file, as an editor goes through it
    return problems


def load_staff(path: Path | str, org: OrgChart) -> StaffRegister:
    doc = Document(path)
    register = doc.validate(StaffRegister)
    problems = _check(doc, register, org)
    if problems:
        raise ConfigFileError(path, problems)
    return register


class Staff:
    """The register kept current without a restart: an edit (a person or a post removed,
    `active: false`) takes effect within `recheck_seconds`; a bad edit is logged and the last good
    register stays in force. A bad file at start raises, so the process refuses to start."""

    def __init__(self, path: Path | str, org: OrgChart, recheck_seconds: float = RECHECK_SECONDS):
        self._file = WatchedFile(Path(path), lambda p: load_staff(p, org), recheck_seconds)

    @property
    def register(self) -> StaffRegister:
        return self._file.current
