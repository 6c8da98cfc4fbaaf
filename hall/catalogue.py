"""The org chart and the catalogue of items (办事指南), loaded from YAML and validated.

Field errors come from the pydantic models; references across the file (a window's department,
an item's stages) and across files (the catalogue's departments in the org chart) are checked
here, and every problem is reported with its file, line and field path.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from services.yamlfile import ConfigFileError, Document

from .domain import VILLAGE_COMMITTEE, Attendance, ItemKind, JointMode, Level, MaterialKind, OrgKind

Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
ItemCode = Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Days = Annotated[int, Field(ge=0, le=1000)]
PublicPhone = Annotated[str, Field(pattern=r"^[0-9]+(-[0-9]+)*$", min_length=5, max_length=20)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- org chart -------------------------------------------------------------------------------


class Department(_Strict):
    code: Code
    name: Name


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
DEFAULT_CARRY_DAYS = ("sunday", "wednesday")  # seeds/004


class Organisation(_Strict):
    code: Code
    name: Name
    kind: OrgKind
    level: Level
    parent: Code | None = None  # the centre this one belongs to, or the centre above
    department: Code | None = None  # for windows and back offices
    phone: PublicPhone | None = None  # the public phone applicants are given (a centre's serves its own)
    # a township centre's fixed days on which its village agents bring their cases (seeds/004: 每周日、周三到乡
    # 便民服务中心集中办理); unset: those two
    carry_days: list[Weekday] | None = None

    @model_validator(mode="after")
    def _shape(self) -> Organisation:
        needs_department = self.kind in (OrgKind.WINDOW, OrgKind.BACK_OFFICE)
        if needs_department and not self.department:
            raise ValueError(f"a {self.kind.value} must name its department")
        if not needs_department and self.department:
            raise ValueError(f"a {self.kind.value} has no department")
        if (self.kind == OrgKind.VILLAGE_ROOM) != (self.level == Level.VILLAGE):
            raise ValueError("village rooms, and only they, are at the village level")
        if self.parent is None and not (self.kind == OrgKind.CENTRE and self.level == Level.COUNTY):
            raise ValueError("only the county centre has no parent")
        if self.carry_days is not None and not (self.kind == OrgKind.CENTRE and self.level == Level.TOWNSHIP
                                                and self.carry_days):
            raise ValueError("carry_days: the fixed days of a township centre, at least one")
        return self

    def carry_weekdays(self) -> tuple[int, ...]:
        """The fixed days (Monday 0 … Sunday 6) a township centre receives its village agents' cases."""
        return tuple(sorted(WEEKDAYS.index(d) for d in (self.carry_days or DEFAULT_CARRY_DAYS)))


class Quota(_Strict):
    cases: Annotated[int, Field(ge=1)]
    per: Literal["week", "month"]


class VillagerGroup(_Strict):
    """村民小组 (组): a unit under a village; its 组级代办员 works from the village's room."""

    code: Code
    name: Name
    village: Code  # the village's room (便民服务室)


class Agent(_Strict):
    """代办员: a township (乡级), village (村级) or villager group (组级) cadre who carries applicants' cases.
    A group agent belongs to its village's room and names its group."""

    code: Code
    name: Name
    organisation: Code
    quota: Quota
    group: Code | None = None  # a 组级代办员's villager group


class OrgChart(_Strict):
    county: Name
    departments: list[Department]
    organisations: list[Organisation]
    villager_groups: list[VillagerGroup] = []
    agents: list[Agent] = []
    _orgs: dict[str, Organisation] = PrivateAttr(default_factory=dict)
    _depts: dict[str, Department] = PrivateAttr(default_factory=dict)
    _agents: dict[str, Agent] = PrivateAttr(default_factory=dict)
    _offices: dict[tuple, Organisation] = PrivateAttr(default_factory=dict)

    def organisation(self, code: str) -> Organisation | None:
        return self._orgs.get(code)

    def department(self, code: str) -> Department | None:
        return self._depts.get(code)

    def agent(self, code: str) -> Agent | None:
        return self._agents.get(code)

    def agent_tier(self, agent: Agent) -> str:
        """township, village or group: the agent's level (seeds/004: 乡级、村级、组级代办员)."""
        if agent.group:
            return "group"
        org = self._orgs.get(agent.organisation)
        return "village" if org is not None and org.kind == OrgKind.VILLAGE_ROOM else "township"

    def township_of(self, code: str) -> str | None:
        """The township centre over an organisation (a village room's, a township centre itself)."""
        return next((c for c in self.centres_over(code) if self._orgs[c].kind == OrgKind.CENTRE
                     and self._orgs[c].level == Level.TOWNSHIP), None)

    def office_for(self, department: str, centre: str) -> Organisation:
        """The window or back office of `department` in `centre`, else in the centres above it; a village
        room for its own village committee (村民委员会, which decides at the room)."""
        while centre is not None:
            if (found := self._offices.get((department, centre))) is not None:
                return found
            centre = self._orgs[centre].parent
        raise LookupError(f"department {department} has no window or back office up to the county")

    def centre_of(self, org: Organisation) -> Organisation:
        """The centre an organisation belongs to (a centre is its own)."""
        if org.kind in (OrgKind.CENTRE, OrgKind.VILLAGE_ROOM):
            return org
        return self._orgs[org.parent]

    def public_phone(self, code: str) -> str:
        """The public phone an applicant is given for an organisation: its own, else its centre's
        (a window's, a village room's), else the centre above; '' when none is set."""
        org = self._orgs.get(code)
        while org is not None:
            if org.phone:
                return org.phone
            org = self._orgs.get(org.parent) if org.parent else None
        return ""

    def centres_over(self, code: str) -> list[str]:
        """The centre an organisation belongs to and every centre above it, nearest first (a village
        room's: itself, its township's, the county's): whose managers and leaders oversee it."""
        org = self._orgs.get(code)
        found = []
        if org is not None:
            centre = self.centre_of(org)
            while centre is not None:
                found.append(centre.code)
                centre = self._orgs.get(centre.parent) if centre.parent else None
        return found

    def model_post_init(self, _context) -> None:
        self._orgs = {o.code: o for o in self.organisations}
        self._depts = {d.code: d for d in self.departments}
        self._agents = {a.code: a for a in self.agents}
        self._offices = {(o.department, o.parent): o for o in self.organisations
                         if o.kind in (OrgKind.WINDOW, OrgKind.BACK_OFFICE)}
        self._offices |= {(VILLAGE_COMMITTEE, o.code): o for o in self.organisations if o.kind == OrgKind.VILLAGE_ROOM}


def _duplicates(doc: Document, section: str, codes: list[str]) -> list:
    seen: set[str] = set()
    problems = []
    for i, code in enumerate(codes):
        if code in seen:
            problems.append(doc.problem((section, i, "code"), f"duplicate code {code!r}"))
        seen.add(code)
    return problems


def _check_org(doc: Document, chart: OrgChart) -> list:
    problems = _duplicates(doc, "departments", [d.code for d in chart.departments])
    problems += _duplicates(doc, "organisations", [o.code for o in chart.organisations])
    problems += _duplicates(doc, "agents", [a.code for a in chart.agents])
    county_centres = [o for o in chart.organisations if o.parent is None]
    if len(county_centres) != 1:
        problems.append(doc.problem(("organisations",), "there must be exactly one county centre"))
    for i, org in enumerate(chart.organisations):
        if org.department and not chart.department(org.department):
            problems.append(doc.problem(("organisations", i, "department"), f"unknown department {org.department!r}"))
        if org.parent is None:
            continue
        parent = chart.organisation(org.parent)
        if parent is None:
            problems.append(doc.problem(("organisations", i, "parent"), f"unknown organisation {org.parent!r}"))
            continue
        if parent.kind != OrgKind.CENTRE:
            problems.append(doc.problem(("organisations", i, "parent"), f"{org.parent!r} is not a centre"))
        elif org.kind == OrgKind.CENTRE or org.kind == OrgKind.VILLAGE_ROOM:
            if parent.level.rank != org.level.rank + 1:
                problems.append(doc.problem(("organisations", i, "parent"), "must be the centre one level up"))
        elif parent.level != org.level:
            problems.append(doc.problem(("organisations", i, "parent"), "must be the centre of the same level"))
    problems += _duplicates(doc, "villager_groups", [g.code for g in chart.villager_groups])
    groups = {g.code: g for g in chart.villager_groups}
    for i, group in enumerate(chart.villager_groups):
        village = chart.organisation(group.village)
        if village is None or village.kind != OrgKind.VILLAGE_ROOM:
            reason = f"{group.village!r} is not a village room"
            problems.append(doc.problem(("villager_groups", i, "village"), reason))
    for i, agent in enumerate(chart.agents):
        if agent.group is not None:
            group = groups.get(agent.group)
            if group is None:
                problems.append(doc.problem(("agents", i, "group"), f"unknown villager group {agent.group!r}"))
            elif group.village != agent.organisation:
                problems.append(doc.problem(("agents", i, "group"), f"{agent.group} is under {group.village}"))
        org = chart.organisation(agent.organisation)
        if org is None:
            problems.append(doc.problem(("agents", i, "organisation"), f"unknown organisation {agent.organisation!r}"))
        elif org.kind not in (OrgKind.VILLAGE_ROOM, OrgKind.CENTRE) or org.level == Level.COUNTY:
            problems.append(doc.problem(("agents", i, "organisation"), "agents belong to a village room or a township centre"))
    return problems


def load_org(path: Path | str) -> OrgChart:
    doc = Document(path)
    chart = doc.validate(OrgChart)
    problems = _check_org(doc, chart)
    if problems:
        raise ConfigFileError(path, problems)
    return chart


# --- catalogue -------------------------------------------------------------------------------


class Material(_Strict):
    code: Code
    name: Name
    kind: MaterialKind = MaterialKind.ESSENTIAL
    copies: Annotated[int, Field(ge=1, le=20)] = 1
    # the village-committee item (村委会证明、意见) whose issued certificate may stand for this material: an
    # application cites the certificate's case number, and the material counts as received
    certificate: ItemCode | None = None


class FormField(_Strict):
    """A field of the item's application form (申请表) that the acceptance desk fills in."""

    code: Code
    label: Name  # its Chinese name, as the form prints it
    required: bool = False
    max_length: Annotated[int, Field(ge=1, le=2000)] = 200


class Fee(_Strict):
    amount_yuan: Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2)] = Decimal(0)
    basis: str = ""  # the document that sets the fee; required when the fee is not zero

    @model_validator(mode="after")
    def _basis(self) -> Fee:
        if self.amount_yuan > 0 and not self.basis.strip():
            raise ValueError("a fee needs its legal basis")
        return self


class Stage(_Strict):
    """One stage of parallel approval (并联审批): a lead and the departments that review at once."""

    name: Name
    lead: Code
    departments: Annotated[list[Code], Field(min_length=1)]
    limit_days: Days


SignOffPost = Literal["approver", "checker"]  # hall.staff.PostKind values that sign a decision off


class Item(_Strict):
    code: ItemCode
    name: Name
    department: Code  # the department that decides (or, for staged items, coordinates)
    kind: ItemKind
    joint_mode: JointMode | None = None
    co_departments: list[Code] = []
    legal_limit_days: Days
    promised_limit_days: Days
    fee: Fee = Fee()
    legal_basis: Name
    materials: list[Material] = []
    fields: list[FormField] = []  # the application form; a submission fills in these and no others
    attendance: Attendance = Attendance.PROXY_ALLOWED
    lowest_level: Level = Level.VILLAGE  # the lowest level that may accept it
    decided_at: Level = Level.COUNTY  # where it is decided; the village only for the village committee's own matters
    consult_only: bool = False  # 咨询服务: answered, not accepted
    requires_project_code: bool = False  # 项目代码 for investment projects
    # The decision's sign-off chain (审批/核准), in order, after the handler's proposal: each post of
    # the deciding window or office signs before the decision takes effect. Empty: the handler decides.
    sign_off: list[SignOffPost] = []
    stages: list[Stage] = []
    valid_from: date | None = None
    valid_until: date | None = None

    @model_validator(mode="after")
    def _rules(self) -> Item:
        if self.promised_limit_days > self.legal_limit_days:
            raise ValueError("promised_limit_days must not exceed legal_limit_days")
        committee = self.department == VILLAGE_COMMITTEE
        if (self.decided_at == Level.VILLAGE) != committee:
            raise ValueError("decided_at: village rooms accept only (只受理，不办理), except the village "
                             f"committee's own matters ({VILLAGE_COMMITTEE}), which are decided at the village")
        if committee and (self.kind not in (ItemKind.IMMEDIATE, ItemKind.PROMISED) or self.sign_off):
            raise ValueError("a village committee's matter is immediate or promised, decided by the room's cadres "
                             "without a sign-off chain")
        if self.lowest_level.rank > self.decided_at.rank:
            raise ValueError("lowest_level must not be above decided_at")
        if self.kind == ItemKind.JOINT and not (self.co_departments or self.stages):
            raise ValueError("a joint item needs co_departments or stages")
        if self.kind == ItemKind.JOINT and self.co_departments and self.joint_mode is None:
            raise ValueError("a joint item with co_departments needs joint_mode")
        if self.kind != ItemKind.JOINT and (self.co_departments or self.stages):
            raise ValueError("only joint items have co_departments or stages")
        if self.stages and sum(s.limit_days for s in self.stages) > self.promised_limit_days:
            raise ValueError("the stages' limits add up to more than promised_limit_days")
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        if len(set(self.sign_off)) != len(self.sign_off):
            raise ValueError("sign_off names each post once")
        if not self.consult_only and not any(m.kind == MaterialKind.ESSENTIAL for m in self.materials):
            raise ValueError("an item that is accepted needs at least one essential material")
        return self

    def is_current(self, on: date) -> bool:
        return (self.valid_from is None or self.valid_from <= on) and (self.valid_until is None or on <= self.valid_until)

    def material(self, code: str) -> Material | None:
        return next((m for m in self.materials if m.code == code), None)

    def field(self, code: str) -> FormField | None:
        return next((f for f in self.fields if f.code == code), None)


class Catalogue(_Strict):
    items: Annotated[list[Item], Field(min_length=1)]
    _items: dict[str, Item] = PrivateAttr(default_factory=dict)

    def item(self, code: str) -> Item | None:
        return self._items.get(code)

    def model_post_init(self, _context) -> None:
        self._items = {i.code: i for i in self.items}


def _check_catalogue(doc: Document, catalogue: Catalogue, org: OrgChart) -> list:
    problems = _duplicates(doc, "items", [i.code for i in catalogue.items])

    def dept(loc, code):
        if org.department(code) is None:
            problems.append(doc.problem(loc, f"unknown department {code!r} (not in the org chart)"))

    for i, item in enumerate(catalogue.items):
        dept(("items", i, "department"), item.department)
        for j, code in enumerate(item.co_departments):
            dept(("items", i, "co_departments", j), code)
        seen = set()
        for j, material in enumerate(item.materials):
            if material.code in seen:
                problems.append(doc.problem(("items", i, "materials", j, "code"), f"duplicate material {material.code!r}"))
            seen.add(material.code)
            issuer = catalogue.item(material.certificate) if material.certificate else None
            if material.certificate and (issuer is None or issuer.department != VILLAGE_COMMITTEE):
                problems.append(doc.problem(("items", i, "materials", j, "certificate"),
                                            f"{material.certificate!r} is not a village committee's item"))
        seen = set()
        for j, form_field in enumerate(item.fields):
            if form_field.code in seen:
                problems.append(doc.problem(("items", i, "fields", j, "code"),
                                            f"item {item.code}: duplicate field {form_field.code!r}"))
            seen.add(form_field.code)
        for j, stage in enumerate(item.stages):
            dept(("items", i, "stages", j, "lead"), stage.lead)
            for k, code in enumerate(stage.departments):
                dept(("items", i, "stages", j, "departments", k), code)
            if stage.lead not in stage.departments:
                problems.append(doc.problem(("items", i, "stages", j, "lead"), "the lead must be one of the stage's departments"))
            if len(set(stage.departments)) != len(stage.departments):
                problems.append(doc.problem(("items", i, "stages", j, "departments"), "a department appears twice"))
    return problems


def load_catalogue(path: Path | str, org: OrgChart) -> Catalogue:
    doc = Document(path)
    catalogue = doc.validate(Catalogue)
    problems = _check_catalogue(doc, catalogue, org)
    if problems:
        raise ConfigFileError(path, problems)
    return catalogue
