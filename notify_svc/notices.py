"""Which notices an event calls for, to whom, and their text (回复). Pure: no sending here.

One template per notice in `templates/<notice>.txt`: the first line is the subject, the rest the
body, rendered with Jinja2. Names are masked; identity numbers and phone numbers never appear.
Events name departments by code; an applicant's notice names them as the org chart does.

Every notice to an applicant ends with the responsible window (首问负责制: the organisation that
accepted the case) and its public phone (`templates/_window.txt`): whom to ask is a window, never a
person, and the number given is the hall's, never a staff member's own.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from hall.catalogue import Catalogue, OrgChart
from hall.staff import PostKind, StaffRegister
from services.contracts import Envelope
from services.privacy import mask_name

TEMPLATES = Path(__file__).parent / "templates"
APPLICANT, DEPARTMENT, STAFF = "applicant", "department", "staff"
_ENV = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=False,
                   autoescape=False)
# What an applicant reads for each result code (hall.domain.ResultCode): never the code itself.
RESULTS = {"issued": "准予许可", "rejected": "不予许可", "reported_up": "已转报上级机关审批", "concluded": "办结",
           "returned": "退回", "voided": "作废", "deleted": "删除", "supplement_timeout": "补正材料超期，申请予以驳回"}
_RESOLUTIONS = {"fixed": "已立行立改", "ledger": "已列入整改台账限期整改", "explained": "已向您解释说明"}
_COLOURS = {"yellow": "黄牌", "red": "红牌"}
_PROCEDURES = {"expert_review": "专家评审", "hearing": "听证", "inspection": "现场勘查或检验检测",
               "public_notice": "公示"}


@dataclass(frozen=True)
class Notice:
    notice: str  # the template's name
    audience: str  # applicant, department, or staff (a person of the hall, at their work phone)
    department: str | None  # for the department audience
    subject: str
    body: str
    staff: str = ""  # the staff number, for the staff audience


def render(notice: str, **context) -> tuple[str, str]:
    text = _ENV.get_template(f"{notice}.txt").render(**context).strip()
    subject, _, body = text.partition("\n")
    return subject.strip(), body.strip()


def _material_lines(item, codes_and_problems) -> list[str]:
    lines = []
    for code, problem in codes_and_problems:
        material = item.material(code) if item else None
        name = material.name if material else code
        lines.append(name if problem == "missing" else f"{name}（{problem}）")
    return lines


class Draft:
    """The notices an event calls for, as its planner writes them."""

    def __init__(self, envelope: Envelope, catalogue: Catalogue, org: OrgChart, contact: dict | None,
                 item_code: str | None, organisation: str = "", register: StaffRegister | None = None,
                 agent: str = ""):
        self.org = org
        self.register = register
        self.agent = agent  # the proxy agent carrying the case (代办员), if any
        self.item = catalogue.item(envelope.payload.get("item_code") or item_code or "")
        window = org.organisation(organisation) if organisation else None
        self.base = {"case_number": envelope.case_number or "",
                     "item_name": self.item.name if self.item else (item_code or ""),
                     "name": mask_name(contact["name"]) if contact else "申请人",
                     # an organisation gone from the chart, or not known: no window rather than a wrong one
                     "window": window.name if window else "",
                     "window_phone": org.public_phone(organisation) if window else ""}
        self.notices: list[Notice] = []

    def to_applicant(self, notice: str, **context) -> None:
        self.notices.append(Notice(notice, APPLICANT, None, *render(notice, **self.base, **context)))

    def to_department(self, department: str, notice: str, **context) -> None:
        self.notices.append(Notice(notice, DEPARTMENT, department, *render(notice, **self.base, **context)))

    def to_staff(self, staff_number: str, notice: str, **context) -> None:
        self.notices.append(Notice(notice, STAFF, None, *render(notice, **self.base, **context), staff=staff_number))

    def to_agent(self, notice: str, **context) -> None:
        """To the case's proxy agent, if it has one: each person holding that agent's post (代办制: results
        come back through the agent), by SMS at the work phone."""
        agent = self.org.agent(self.agent) if self.agent else None
        if agent is None or self.register is None:
            return
        register = self.register
        persons = {person.staff_number for post in register.posts(agent.organisation, PostKind.PROXY_AGENT)
                   for person in register.holders(post).values()
                   if (held := register.holding(person.staff_number, post)) and held.agent == agent.code}
        for staff_number in sorted(persons):
            self.to_staff(staff_number, notice, **context)

    def organisation(self, code: str) -> str:
        organisation = self.org.organisation(code)
        return organisation.name if organisation else code

    def materials(self, codes_and_problems) -> list[str]:
        return _material_lines(self.item, codes_and_problems)

    def department(self, code: str) -> str:
        """The department's name for the applicant; its code if the org chart no longer has it
        (an event older than the chart), rather than no notice at all."""
        department = self.org.department(code)
        return department.name if department else code


Planner = Callable[[Draft, dict], None]  # writes the notices of one kind of event, from its payload


def plan(envelope: Envelope, planner: Planner, catalogue: Catalogue, org: OrgChart, contact: dict | None,
         item_code: str | None = None, organisation: str = "", register: StaffRegister | None = None,
         agent: str = "") -> list[Notice]:
    """The notices an event calls for. `contact` is the applicant's, if known; `item_code` the
    case's item when the event itself does not name it; `organisation` the one that accepted the
    case, the window the applicant's notices name; `register` the staff register, for notices to
    the hall's own people; `agent` the proxy agent who carries the case, if any."""
    draft = Draft(envelope, catalogue, org, contact, item_code, organisation, register, agent)
    planner(draft, envelope.payload)
    return draft.notices


# --- one planner per event notify handles (the service's handler table says which) ---------------

def receipt(d: Draft, p: dict) -> None:
    """受理回执"""
    d.to_applicant("receipt", accepted_on=p["accepted_on"], promised_deadline=p["promised_deadline"],
                   promised_materials=d.materials([(c, "missing") for c in p["promised_materials"]]),
                   commitment_deadline=p.get("commitment_deadline") or "")


def one_time_notice(d: Draft, p: dict) -> None:
    """一次性告知"""
    problems = [(c, "missing") for c in p["missing"]] + list(p["defective"].items())
    d.to_applicant("one_time_notice", lines=d.materials(problems))


def not_accepted(d: Draft, p: dict) -> None:
    """不予受理"""
    d.to_applicant("not_accepted", reasons=p["reasons"])


def supplement_request(d: Draft, p: dict) -> None:
    """补正, to the applicant and to the agent carrying the case, who brings the materials."""
    context = dict(department=d.department(p["department"]), note=p["note"],
                   lines=d.materials([(m["code"], m["problem"]) for m in p["materials"]]))
    d.to_applicant("supplement_request", **context)
    d.to_agent("agent_supplement_request", **context)


def special_procedure(d: Draft, p: dict) -> None:
    """A special procedure is told to the applicant, with its expected end when planned; a
    suspension is not told."""
    if p["reason"] == "special_procedure":
        d.to_applicant("special_procedure", department=d.department(p["department"]), note=p["note"],
                       procedure=_PROCEDURES.get(p.get("procedure") or "", "特别程序"),
                       planned_days=p.get("planned_days"), expected_end=p.get("expected_end"))


def decision(d: Draft, p: dict) -> None:
    """办结: the decision, the pickup of what was issued, and the invitation to rate."""
    reasons = p["reasons"]
    if p["result"] == "rejected":
        # The event's reasons start with each rejecting department's code; its decisions carry
        # the same opinions with the code apart, so the applicant reads the department's name.
        reasons = [f"{d.department(r['department'])}：{r['opinion']}（{r['legal_basis']}）"
                   for r in p["decisions"] if r["decision"] == "reject"]
    d.to_applicant("decision", concluded_on=p["concluded_on"], result=RESULTS.get(p["result"], p["result"]),
                   reasons=reasons)
    if p["result"] == "issued":
        d.to_applicant("pickup")
    d.to_applicant("rating_invitation")
    # the agent fetches and delivers the result and has the applicant sign its 办结反馈单
    d.to_agent("agent_result", concluded_on=p["concluded_on"], result=RESULTS.get(p["result"], p["result"]),
               issued=p["result"] == "issued")


def new_tasks(d: Draft, p: dict) -> None:
    for task in p["tasks"]:
        d.to_department(task["department"], "new_task", stage=p["stage"], stage_name=p["stage_name"],
                        limit_days=task["limit_days"], deadline=task["deadline"])


def task_pooled(d: Draft, p: dict) -> None:
    """Nothing is without an owner: a task whose handler post has neither A nor B present warns
    the managers of its centre, who move it to a holder."""
    if d.register is None:
        return
    managers = {person.staff_number for post in d.register.posts(p["centre"], PostKind.CENTRE_MANAGER)
                for person in d.register.holders(post).values()}
    for staff_number in sorted(managers):
        d.to_staff(staff_number, "task_pooled", organisation=d.organisation(p["organisation"]),
                   department=d.department(p["department"]), task_id=p["task_id"])


def progress(d: Draft, p: dict) -> None:
    """The written progress notice of a matter decided above the township: to the applicant, and through
    the agent of a proxy case (seeds/004: 五个工作日内将代办情况书面告知群众), who hands it over."""
    context = dict(accepted_on=p["accepted_on"], days_used=p["days_used"], limit_days=p["limit_days"],
                   deadline=p.get("deadline") or "", paused=p["paused"])
    d.to_applicant("progress", **context)
    d.to_agent("agent_progress", **context)


def rectification_result(d: Draft, p: dict) -> None:
    d.to_applicant("rectification_result", resolution=_RESOLUTIONS.get(p["resolution"], p["resolution"]),
                   note=p["note"])


def complaint_answer(d: Draft, p: dict) -> None:
    d.to_applicant("complaint_answer", complaint_id=p["complaint_id"],
                   department=d.department(p["department"]), answer=p["answer"])


def instruction(d: Draft, p: dict) -> None:
    """督办, to the warned department"""
    d.to_department(p["department"], "instruction", step=p["step"], colour=_COLOURS[p["colour"]],
                    instruction=p["instruction"], reply_by=p.get("reply_by") or "")


def urge_or_escalate(d: Draft, p: dict) -> None:
    """A yellow warning urges the department (催办); a red one escalates (a case's own warning,
    with no department, goes to nobody). Nothing is copied to the supervision office: it raised
    the warning and lists it itself, so the escalation claims no copy either."""
    if p.get("department"):
        d.to_department(p["department"], "urge" if p["colour"] == "yellow" else "escalation", step=p["step"],
                        deadline=p["deadline"])
    if p.get("agent"):  # the agent's own clock: the 办结反馈单 not signed in time
        d.to_agent("agent_card_overdue", deadline=p["deadline"])


def contact_of(envelope: Envelope) -> dict | None:
    """The contact an event carries: the applicant's on intake's first events of a case, the
    complainant's on an answered complaint."""
    return envelope.payload.get("contact")


def is_applicants(envelope: Envelope) -> bool:
    """Whether the event's notices go to the case's applicant (else only to the contact it carries)."""
    return envelope.type != "ComplaintAnswered"
