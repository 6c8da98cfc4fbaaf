"""The guide (办事指南): the catalogue items in force today as the public reads them, found by words of
their name or code and by department, in pages by code. Pure: no storage, no transport."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from hall.catalogue import Item, OrgChart
from hall.domain import Attendance, Level, MaterialKind
from hall.reference import Reference
from services.errors import NotFound, Violations
from services.timesource import TimeSource, local_day

PAGE_SIZE, LARGEST_PAGE = 50, 200
_ITEM_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$", re.ASCII)  # as hall.catalogue's ItemCode


@dataclass(frozen=True)
class GuideMaterial:
    code: str
    name: str
    essential: bool  # False: may follow under a commitment (容缺)
    copies: int
    certificate: str = ""  # the village committee's item whose issued certificate may stand for it


@dataclass(frozen=True)
class GuideField:
    """A field of the item's application form (申请表): SubmitRequest.form takes these codes only."""
    code: str
    label: str
    required: bool
    max_length: int


@dataclass(frozen=True)
class GuideStage:
    """A stage of parallel approval (并联审批): its lead and the departments that review at once."""
    name: str
    lead: str
    departments: tuple[str, ...]
    limit_days: int


@dataclass(frozen=True)
class GuideItem:
    """One item of the guide: what to bring, where to apply, how long it takes, what it costs."""
    code: str
    name: str
    department: str
    department_name: str
    kind: str  # ItemKind value
    legal_limit_days: int
    promised_limit_days: int
    fee_yuan: str  # "0" when free
    fee_basis: str
    legal_basis: str
    materials: tuple[GuideMaterial, ...]
    agent_may_carry: bool  # 代办类
    levels: tuple[str, ...]  # where it may be applied for, lowest first
    decided_at: str
    consult_only: bool
    requires_project_code: bool
    stages: tuple[GuideStage, ...]
    fields: tuple[GuideField, ...] = ()


@dataclass(frozen=True)
class GuidePage:
    items: tuple[GuideItem, ...]
    next_page_token: str  # empty on the last page
    total: int  # items matching, over every page
    departments: tuple[tuple[str, str], ...] = field(default=())  # (code, name) of each with an item in force


def fee_text(amount: Decimal) -> str:
    """A fee in yuan as the guide prints it: "0", "20", "12.50"."""
    text = f"{amount.quantize(Decimal('0.01')):f}"
    return text.removesuffix(".00")


def levels_of(item: Item) -> tuple[str, ...]:
    """Where an item may be applied for: from its lowest level up to the level that decides it (above
    that the clerk refuses it and sends the applicant down, see acceptance)."""
    return tuple(level.value for level in Level if item.lowest_level.rank <= level.rank <= item.decided_at.rank)


def guide_item(item: Item, org: OrgChart) -> GuideItem:
    department = org.department(item.department)
    return GuideItem(
        code=item.code, name=item.name, department=item.department,
        department_name=department.name if department else "", kind=item.kind.value,
        legal_limit_days=item.legal_limit_days, promised_limit_days=item.promised_limit_days,
        fee_yuan=fee_text(item.fee.amount_yuan), fee_basis=item.fee.basis, legal_basis=item.legal_basis,
        materials=tuple(GuideMaterial(m.code, m.name, m.kind == MaterialKind.ESSENTIAL, m.copies, m.certificate or "")
                        for m in item.materials),
        agent_may_carry=item.attendance == Attendance.PROXY_ALLOWED, levels=levels_of(item),
        decided_at=item.decided_at.value, consult_only=item.consult_only,
        requires_project_code=item.requires_project_code,
        stages=tuple(GuideStage(s.name, s.lead, tuple(s.departments), s.limit_days) for s in item.stages),
        fields=tuple(GuideField(f.code, f.label, f.required, f.max_length) for f in item.fields))


def _matches(item: Item, words: list[str], department: str) -> bool:
    """Every word in the name or the code (case aside), and of the department when one is asked for."""
    text = f"{item.name}\n{item.code}".casefold()
    return (not department or item.department == department) and all(w in text for w in words)


@dataclass
class Guide:
    """The guide over the reference files, with today from `time` (China)."""
    ref: Reference
    time: TimeSource

    def __post_init__(self) -> None:
        self._items = {item.code: guide_item(item, self.ref.org) for item in self.ref.catalogue.items}

    def _in_force(self) -> list[Item]:
        today = local_day(self.time.now())
        return sorted((i for i in self.ref.catalogue.items if i.is_current(today)), key=lambda i: i.code)

    def page(self, query: str, department: str, page_size: int, page_token: str) -> GuidePage:
        """The items in force matching `query` (words of the name or code) and `department`, by code;
        a page starts after the code its token names."""
        v = Violations()
        if len(query) > 100:
            v.add("query", "at most 100 characters")
        if department and self.ref.org.department(department) is None:
            v.add("department", f"no department {department!r}")
        size = page_size or PAGE_SIZE
        if not 1 <= size <= LARGEST_PAGE:
            v.add("page_size", f"between 1 and {LARGEST_PAGE}")
        if page_token and not _ITEM_CODE.match(page_token):
            v.add("page_token", "a token from a previous reply")
        v.check()
        in_force = self._in_force()
        words = query.casefold().split()
        found = [i.code for i in in_force if _matches(i, words, department)]
        rest = [code for code in found if code > page_token] if page_token else found
        shown = rest[:size]
        departments = {i.department for i in in_force}
        return GuidePage(
            items=tuple(self._items[code] for code in shown),
            next_page_token=shown[-1] if len(rest) > size else "", total=len(found),
            departments=tuple((d.code, d.name) for d in self.ref.org.departments if d.code in departments))

    def item(self, code: str) -> GuideItem:
        """One item in force; NotFound for an unknown code or one not in force today."""
        v = Violations()
        v.require(code, "code", 32)
        v.check()
        item = self.ref.catalogue.item(code)
        if item is None or not item.is_current(local_day(self.time.now())):
            raise NotFound(f"no item {code!r} in force in the guide")
        return self._items[code]
