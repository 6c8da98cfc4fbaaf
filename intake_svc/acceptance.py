"""Acceptance rules (受理): what the clerk checks, and the receipt it gives. Pure: no storage.

Bad requests (unknown codes, missing fields) are `InvalidRequest` with field paths; an application
that is well-formed but cannot be accepted gets a receipt that says so, with its reasons.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.iso7064 import mod_11_10

from hall.calendar import WorkingCalendar
from hall.catalogue import Catalogue, Item, Material, OrgChart
from hall.domain import (
    Application,
    Attendance,
    CaseStatus,
    Channel,
    Level,
    MaterialKind,
    OrgKind,
    ProvidedMaterial,
    ResultCode,
)
from services.errors import InvalidRequest, Violations

RETURNED = "returned"  # 退回件: the kind of a case that was not accepted
SIGNED_IN_CLERK = "the signed-in clerk is the first-contact person"

# ASCII: Python's \d also matches other scripts' digits (١٢٣, １２３), which no registry or SMS gateway takes.
_PROJECT_CODE = re.compile(r"^(\d{4})-(\d{6})-(\d{2})-(\d{2})-(\d{6})$", re.ASCII)
_PHONE = re.compile(r"^\+?\d[\d-]{6,19}$", re.ASCII)
_ACCEPTING = {OrgKind.ACCEPTANCE_DESK, OrgKind.WINDOW, OrgKind.VILLAGE_ROOM, OrgKind.CENTRE}


def project_code_problem(code: str | None, today: dt.date) -> str | None:
    """Why a 项目代码 is not valid, or None.

    Structure: year-region-sector-type-serial, 24 characters, e.g. 2026-340521-65-03-000154.
    The last digit is a check digit; the national coding rule does not publish its algorithm, so
    ISO 7064 MOD 11,10 over the 20 digits stands in for it (one function to change).
    """
    if not code:
        return "投资项目须提供项目代码 (a project code is required)"
    m = _PROJECT_CODE.match(code)
    if not m:
        return f"项目代码 {code!r} does not have the form YYYY-RRRRRR-SS-TT-NNNNNC"
    year, region = int(m.group(1)), m.group(2)
    if not 2014 <= year <= today.year:
        return f"项目代码 {code!r}: year {year} is not a year codes were issued"
    if not 11 <= int(region[:2]) <= 82:
        return f"项目代码 {code!r}: {region} is not an administrative division code"
    if not mod_11_10.is_valid(code.replace("-", "")):
        return f"项目代码 {code!r}: the check digit does not match"
    return None


def with_check_digit(code_without_check: str) -> str:
    """Complete a 23-character project code with its check digit (for tools and tests)."""
    return code_without_check + mod_11_10.calc_check_digit(code_without_check.replace("-", ""))


def first_contact(named: str, person: str, field: str = "first_clerk") -> str:
    """Who answers for an act at the window (首问负责人): the signed-in person who does it (`person`,
    a staff number), whatever the request leaves empty; a request naming someone else is refused,
    since the record must say who really took the applicant's papers. A county system's token
    (no person) names its clerk itself, as it always did."""
    if not person:
        return named
    if named and named != person:
        raise InvalidRequest([(field, SIGNED_IN_CLERK)])
    return person


def id_number_problem(number: str) -> str | None:
    if len(number) == 18 and number[:17].isdigit():
        try:
            ric.validate(number)
        except InvalidChecksum:
            return "not a valid resident identity number (check digit)"
        except ValidationError:
            return "not a valid resident identity number (birth date, or a region code not in use that year)"
        return None
    if len(number) == 18:
        return None if uscc.is_valid(number) else "not a valid unified social credit code"
    return "an 18-character resident identity number or unified social credit code"


@dataclass(frozen=True)
class NoticeLine:
    material_code: str
    material_name: str
    problem: str  # "missing" or the defect


@dataclass(frozen=True)
class ClerkChoice:
    """What the clerk decides rather than the rules: not to accept, with reasons (不予受理), or that the
    applicant only asked (咨询: recorded, no case). Neither by default: the rules answer."""

    refusal_reasons: tuple[str, ...] = ()
    consultation: bool = False

    def __bool__(self) -> bool:
        return bool(self.refusal_reasons or self.consultation)


CONSULTED = "咨询服务：已答复，不予受理 (consultation answered)"
ASKED_ONLY = "咨询：已答复，申请人未申请办理 (consultation answered, no application)"
MOST_REASONS, LONGEST_REASON = 10, 500


@dataclass(frozen=True)
class ClerkAnswer:
    """What the clerk answers: the content of the receipt."""

    status: CaseStatus | None  # None: consultation answered, no case
    kind: str  # ItemKind value, or RETURNED
    level: Level
    reasons: tuple[str, ...] = ()
    notice: tuple[NoticeLine, ...] = ()
    promised_deadline: dt.date | None = None
    commitment_deadline: dt.date | None = None
    promised_materials: tuple[str, ...] = field(default=())

    @property
    def accepted(self) -> bool:
        return self.status in (CaseStatus.ACCEPTED, CaseStatus.ACCEPTED_WITH_COMMITMENT)


def validate(app: Application, catalogue: Catalogue, org: OrgChart, choice: ClerkChoice = ClerkChoice()) -> Item:
    """Field checks: everything the request must carry to be considered at all."""
    v = Violations()
    v.require(app.request_id, "request_id", 64)
    v.require(app.first_clerk, "first_clerk", 64)
    item = catalogue.item(app.item_code) if app.item_code else None
    if not app.item_code:
        v.add("item_code", "required")
    elif item is None:
        v.add("item_code", f"no item {app.item_code!r} in the catalogue")
    accepting = org.organisation(app.organisation) if app.organisation else None
    if not app.organisation:
        v.add("organisation", "required")
    elif accepting is None:
        v.add("organisation", f"no organisation {app.organisation!r}")
    elif accepting.kind not in _ACCEPTING:
        v.add("organisation", f"a {accepting.kind.value} handles only what the acceptance desk transfers to it")
    v.require(app.applicant.name, "applicant.name", 100)
    if not app.applicant.id_number:
        v.add("applicant.id_number", "required")
    elif problem := id_number_problem(app.applicant.id_number):
        v.add("applicant.id_number", problem)
    if not _PHONE.match(app.applicant.phone or ""):
        v.add("applicant.phone", "a phone number of 7 to 20 digits")
    if len(app.applicant.email or "") > 254:
        v.add("applicant.email", "at most 254 characters")
    if len(app.project_code or "") > 64:  # a refusal's reasons quote it
        v.add("project_code", "at most 64 characters")
    if app.channel == Channel.PROXY_AGENT:
        agent = org.agent(app.agent) if app.agent else None
        if agent is None:
            v.add("agent", "a proxy submission names a known agent (代办员)")
        v.require(app.consent_ref, "consent_ref", 64)
    elif app.agent or app.consent_ref:
        v.add("agent", "only proxy-agent submissions name an agent and a consent")
    if app.accompanied_by:  # 带领当事人协同办理: an item the applicant must attend, with the agent beside them
        if org.agent(app.accompanied_by) is None:
            v.add("accompanied_by", "a known agent (代办员)")
        elif app.channel == Channel.PROXY_AGENT:
            v.add("accompanied_by", "a proxy submission is carried by its agent, not accompanied")
        elif item is not None and item.attendance != Attendance.IN_PERSON:
            v.add("accompanied_by", f"item {item.code} may be carried by an agent with a consent: not accompanied")
    if app.channel == Channel.VILLAGE_ROOM and accepting and accepting.kind != OrgKind.VILLAGE_ROOM:
        v.add("organisation", "the village-room channel is accepted at a village room")
    seen: set[str] = set()
    for i, material in enumerate(app.materials):
        if item is not None and item.material(material.code) is None:
            v.add(f"materials[{i}].code", f"item {item.code} has no material {material.code!r}")
        if material.code in seen:
            v.add(f"materials[{i}].code", f"material {material.code!r} listed twice")
        seen.add(material.code)
        if material.defect is not None and len(material.defect) > 500:
            v.add(f"materials[{i}].defect", "at most 500 characters")
        if material.certificate is not None:
            certificate_shape(v, i, material, item)
    if len(app.form) > 100 or any(len(k) > 64 or len(val) > 2000 for k, val in app.form.items()):
        v.add("form", "at most 100 fields of 64-character names and 2000-character values")
    elif item is not None:
        _check_form(v, app.form, item, complete=not (choice or item.consult_only))
    _check_choice(v, choice, item)
    v.check()
    return item


def certificate_shape(v: Violations, i: int, material: ProvidedMaterial, item: Item | None) -> None:
    """A cited certificate (村委会证明、意见) names a case, for a material the catalogue lets one stand for,
    and is not at the same time found defective."""
    catalogued = item.material(material.code) if item is not None else None
    if not material.certificate or len(material.certificate) > 64:
        v.add(f"materials[{i}].certificate", "the case number of a village committee's certificate")
    elif catalogued is not None and catalogued.certificate is None:
        v.add(f"materials[{i}].certificate", f"material {material.code!r} is not one a village committee's "
                                             "certificate stands for")
    if material.defect:
        v.add(f"materials[{i}].defect", "a cited certificate is checked by the system: no defect with it")


def certificate_problem(material: Material, number: str, cited: dict | None, id_number: str) -> str | None:
    """Why the case `cited` (intake's row of case `number`, None if there is none) cannot stand for
    `material`, or None: it must be a case of the village committee's item the material names, concluded
    and issued (出证), for the same applicant. A case of another applicant reads as no case at all."""
    if cited is None or cited["applicant"]["id_number"] != id_number:
        return f"no village committee's certificate {number} of this applicant"
    if cited["item_code"] != material.certificate:
        return f"case {number} is a {cited['item_code']}, not the {material.certificate} this material needs"
    if cited["status"] != CaseStatus.CONCLUDED.value or cited["result"] != ResultCode.ISSUED.value:
        return f"case {number} has not been issued (it is {cited['result'] or cited['status']})"
    return None


def _check_form(v: Violations, form: dict[str, str], item: Item, complete: bool) -> None:
    """The form holds the item's fields only, each within its length; the required ones filled in when
    the application is to be examined (a refusal or a consultation needs no complete form)."""
    for key in form:
        if item.field(key) is None:
            v.add(f"form.{key}", f"item {item.code} has no field {key!r}")
    for f in item.fields:
        value = form.get(f.code, "")
        if complete and f.required and not value.strip():
            v.add(f"form.{f.code}", "required")
        elif len(value) > f.max_length:
            v.add(f"form.{f.code}", f"at most {f.max_length} characters")


def _check_choice(v: Violations, choice: ClerkChoice, item: Item | None) -> None:
    if choice.refusal_reasons and choice.consultation:
        v.add("consultation", "a consultation refuses nothing: give refusal_reasons or consultation, not both")
    if choice.refusal_reasons and item is not None and item.consult_only:
        v.add("refusal_reasons", f"item {item.code} is a consultation item (咨询服务): nothing to refuse")
    if len(choice.refusal_reasons) > MOST_REASONS:
        v.add("refusal_reasons", f"at most {MOST_REASONS} reasons")
    for i, reason in enumerate(choice.refusal_reasons[:MOST_REASONS]):
        v.require(reason, f"refusal_reasons[{i}]", LONGEST_REASON)


def material_notice(item: Item, provided: dict[str, str | None]) -> tuple[list[NoticeLine], bool]:
    """Every missing or defective material at once (一次性告知), and whether any is essential."""
    lines, essential = [], False
    for material in item.materials:
        if material.code not in provided:
            problem = "missing"
        elif provided[material.code]:
            problem = provided[material.code]
        else:
            continue
        lines.append(NoticeLine(material.code, material.name, problem))
        essential |= material.kind == MaterialKind.ESSENTIAL
    return lines, essential


def _refusals(app: Application, item: Item, org: OrgChart, today: dt.date) -> list[str]:
    accepting = org.organisation(app.organisation)
    reasons = []
    if not item.is_current(today):
        reasons.append(f"事项 {item.code} 不在有效期内 (the item is not current)")
    if accepting.level.rank < item.lowest_level.rank:
        reasons.append(f"本事项须到{_LEVEL_NAME[item.lowest_level]}受理 (accepted from the {item.lowest_level.value} level up)")
    if accepting.level.rank > item.decided_at.rank:
        reasons.append(f"本事项由{_LEVEL_NAME[item.decided_at]}办理，请到所在乡镇或村便民服务室申请")
    if accepting.kind == OrgKind.WINDOW and accepting.department != item.department:
        reasons.append("本窗口不受理其他部门事项，请到咨询受理部申请 (apply at the acceptance desk)")
    if app.channel == Channel.PROXY_AGENT and item.attendance == Attendance.IN_PERSON:
        reasons.append("本事项须申请人本人到场办理，代办员可陪同 (in person only: the agent may accompany)")
    if item.requires_project_code and (problem := project_code_problem(app.project_code, today)):
        reasons.append(problem)
    return reasons


_LEVEL_NAME = {Level.VILLAGE: "村便民服务室", Level.TOWNSHIP: "乡镇便民服务中心", Level.COUNTY: "县政务服务中心"}


def examine(app: Application, item: Item, org: OrgChart, cal: WorkingCalendar, today: dt.date,
            commitment_days: int, choice: ClerkChoice = ClerkChoice()) -> ClerkAnswer:
    """The clerk's answer to a validated application, received on `today`: a consultation when the
    item is one or the applicant only asked; not accepted with the clerk's reasons and the rules'; else
    as the materials stand."""
    level = org.organisation(app.organisation).level
    if item.consult_only or choice.consultation:
        return ClerkAnswer(None, item.kind.value, level, (CONSULTED if item.consult_only else ASKED_ONLY,))
    reasons = [*choice.refusal_reasons, *_refusals(app, item, org, today)]
    if reasons:
        return ClerkAnswer(CaseStatus.NOT_ACCEPTED, RETURNED, level, tuple(reasons))
    return check_materials(item, {m.code: m.defect or None for m in app.materials}, app.commitment_signed,
                           level, cal, today, commitment_days)


def check_materials(item: Item, provided: dict[str, str | None], commitment_signed: bool, level: Level,
                    cal: WorkingCalendar, today: dt.date, commitment_days: int) -> ClerkAnswer:
    lines, essential = material_notice(item, provided)
    if lines and (essential or not commitment_signed):
        return ClerkAnswer(CaseStatus.SUPPLEMENT_REQUIRED, item.kind.value, level, notice=tuple(lines))
    promised = cal.add(today, item.promised_limit_days)
    if lines:  # only secondary materials, and a signed commitment: 容缺受理
        commitment = min(cal.add(today, commitment_days), promised)
        return ClerkAnswer(CaseStatus.ACCEPTED_WITH_COMMITMENT, item.kind.value, level, notice=tuple(lines),
                       promised_deadline=promised, commitment_deadline=commitment,
                       promised_materials=tuple(line.material_code for line in lines))
    return ClerkAnswer(CaseStatus.ACCEPTED, item.kind.value, level, promised_deadline=promised)

