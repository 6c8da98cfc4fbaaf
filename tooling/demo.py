"""`./onewindow demo`: a day in the 示范县 halls, played through the gRPC APIs only, by the named
people of the staff register at their posts.

A 即办件 accepted and decided at the window on the spot; village agents carrying 承诺件 up the
levels; an application with a material missing, its one-time notice, the supplement and the
acceptance; the posts at work at the planning window (A away and B covering, both away and the
centre manager moving the pooled task, a decision signed off by approver and checker); a
five-department investment project through its four stages with an expert review and a
co-handling request; then each case read back with the person of each act, and one tracked by its
applicant. Every act is done by a signed-in person: the demo gives each a first password and
changes it, as county IT and the person would (on the demo's own scratch database).
"""
from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from dataclasses import dataclass, field

from onewindow.desk.v1 import desk_pb2 as dpb
from onewindow.desk.v1 import desk_pb2_grpc
from onewindow.identity.v1 import identity_pb2 as idpb
from onewindow.identity.v1 import identity_pb2_grpc
from onewindow.intake.v1 import intake_pb2 as ipb
from onewindow.intake.v1 import intake_pb2_grpc
from tqdm import tqdm

from hall.reference import load_reference
from hall.staff import PostKind, load_staff
from services.access import read_tokens
from services.grpcutil import api_channel
from services.timesource import CHINA

from .loadgen import application, percentile
from .people import set_first_passwords
from .settings import SystemSettings

WAIT_SECONDS = 30.0
LEGAL_BASIS = "《中华人民共和国行政许可法》第三十四条"
PLANNING_WINDOW = "county-window-planning-construction"  # GH-001's decisions are signed off there


@dataclass
class Played:
    """A case the demo submitted: when, and when its concluding decision came back."""

    label: str
    number: str
    phone: str
    submitted: float
    concluded: float | None = None
    result: str = ""
    notes: list[str] = field(default_factory=list)


class Day:
    def __init__(self, settings: SystemSettings, echo):
        self.settings = settings
        self.ref = load_reference(settings)
        self.staff = load_staff(settings.staff, self.ref.org)
        self.echo = echo
        self.rng = random.Random(7)
        self.tokens = read_tokens(settings.desk_tokens)
        self.channels = [api_channel(settings, settings.intake_port), api_channel(settings, settings.desk_port),
                         api_channel(settings, settings.identity_port, settings.identity_host)]
        self.intake = intake_pb2_grpc.IntakeStub(self.channels[0])
        self.desk = desk_pb2_grpc.DepartmentDeskStub(self.channels[1])
        self.identity = identity_pb2_grpc.IdentityStub(self.channels[2])
        self.credentials: dict[tuple[str, str], str] = {}
        self.cases: list[Played] = []
        self.tracked: dict = {}

    def close(self) -> None:
        for channel in self.channels:
            channel.close()

    def _auth(self, holder: str):
        """The credentials of a system: a department's, an organisation's, `supervision`."""
        return (("authorization", f"Bearer {self.tokens[holder]}"),)

    def holder(self, kind: str, at: str, mark: str = "A") -> tuple[str, str]:
        """(staff number, post id) of the person holding a post of this kind at `at`."""
        for post in self.staff.posts(at, PostKind(kind)):
            if (person := self.staff.holders(post).get(mark)) is not None:
                return person.staff_number, post
        raise LookupError(f"nobody holds a {kind} post at {at} as {mark}")

    def name(self, staff_number: str) -> str:
        return f"{self.staff.person(staff_number).name}（{staff_number}）"

    def as_person(self, staff_number: str, post: str):
        """A signed-in person's credentials at one of their posts: a first password, as county IT sets
        it, changed at once by the person; then signed in once per post."""
        key = (staff_number, post)
        if key not in self.credentials:
            (first,) = set_first_passwords(self.settings, [staff_number], replace=True)
            self.credentials[key] = self.identity.ChangePassword(idpb.ChangePasswordRequest(
                staff_number=staff_number, current_password=first.password, new_password=f"Demo-{uuid.uuid4().hex}",
                post_id=post), timeout=10).credential
        return (("authorization", f"Bearer {self.credentials[key]}"),)

    def handler_of(self, task: dpb.Task):
        """Who acts on a task: its holder at the post it went to; the department's system for a
        task in the pool (the manager has not moved it yet)."""
        return self.as_person(task.holder, task.post) if task.holder else self._auth(task.department)

    def submit(self, label: str, item_code: str, organisation: str, missing: tuple[str, ...] = (),
               **fields) -> tuple[Played, ipb.Receipt]:
        request = application(self.ref.catalogue.item(item_code), organisation, self.rng)
        kept = [m for m in request.materials if m.code not in missing]
        del request.materials[:]
        request.materials.extend(kept)
        for name, value in fields.items():
            setattr(request, name, value)
        played = Played(label, "", request.applicant.phone, time.perf_counter())
        if request.channel == ipb.PROXY_AGENT:
            staff, post = next((p.staff_number, h.post_id) for p in self.staff.persons for h in p.posts
                               if h.agent == request.agent)
        else:
            staff, post = self.clerk(organisation)
        request.first_clerk = staff
        receipt = self.intake.Submit(request, metadata=self.as_person(staff, post), timeout=10)
        played.notes.append(f"accepted by {self.name(staff)}")
        played.number = receipt.case_number
        self.cases.append(played)
        self.echo(f"  {label}: {receipt.case_number} {ipb.ReceiptStatus.Name(receipt.status)}, "
                  f"promised by {receipt.promised_deadline or '-'}")
        return played, receipt

    def clerk(self, organisation: str) -> tuple[str, str]:
        kind = "window_clerk" if self.ref.org.organisation(organisation).department else "acceptance_clerk"
        return self.holder(kind, organisation)

    def task(self, department: str, number: str, stage: int = 1, co_handling: bool = False) -> dpb.Task:
        """The department's open task on the case, once it has arrived (the desk is asked, not guessed)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            tasks = self.desk.ListTasks(dpb.ListTasksRequest(case_number=number), metadata=self._auth(department),
                                        timeout=10).tasks
            for task in tasks:
                if task.stage == stage and (task.role == dpb.CO_HANDLING) == co_handling \
                        and task.status not in (dpb.DECIDED, dpb.WITHDRAWN):
                    return task
            time.sleep(0.02)
        raise TimeoutError(f"no task for {department} on {number} (stage {stage}) after {WAIT_SECONDS}s")

    def decide(self, task: dpb.Task, played: Played, opinion: str = "符合条件，同意") -> dpb.DecideReply:
        """The task's holder decides (or proposes, where approver and checker sign it off)."""
        reply = self.desk.Decide(dpb.DecideRequest(task_id=task.task_id, decision=dpb.APPROVE, opinion=opinion,
                                                   legal_basis=LEGAL_BASIS), metadata=self.handler_of(task),
                                 timeout=10)
        self.concluded(played, reply)
        return reply

    def concluded(self, played: Played, reply: dpb.DecideReply) -> None:
        if reply.case_concluded:
            played.concluded, played.result = time.perf_counter(), reply.result

    def act(self, task: dpb.Task, method: str, request):
        return getattr(self.desk, method)(request, metadata=self.handler_of(task), timeout=10)

    def manager(self, method: str, request):
        return getattr(self.desk, method)(request, metadata=self.as_person(*self.holder("centre_manager",
                                                                                            "county-centre")),
                                          timeout=10)


def _window_case(day: Day) -> None:
    played, _ = day.submit("即办件 at the market-regulation window", "SC-001", "county-window-market-regulation")
    task = day.task("market_regulation", played.number)
    day.decide(task, played, "当场办结")
    played.notes.append(f"decided by {day.name(task.holder)}")


def _agents(day: Day) -> None:
    for agent, item in (("agent-zhangqiao-liugang", "MZ-001"), ("agent-zhangqiao-dayang", "NY-001"),
                        ("agent-zhangqiao-zhangqiao", "WJ-004")):
        room = day.ref.org.agent(agent).organisation
        played, _ = day.submit(f"{agent} carries {item}", item, room, channel=ipb.PROXY_AGENT, agent=agent,
                               consent_ref=f"WT-{day.rng.randint(0, 99999):05d}")
        department = day.ref.catalogue.item(item).department
        task = day.task(department, played.number)
        played.notes.append(f"from {room} up to {task.organisation}, decided by "
                            + (day.name(task.holder) if task.holder else f"the {department} system (pool)"))
        day.decide(task, played)


def _supplement(day: Day) -> None:
    played, receipt = day.submit("小额救助 with a proof missing", "MZ-004", "county-desk", missing=("hardship_proof",))
    notice = ", ".join(f"{line.material_name}（{line.problem}）" for line in receipt.one_time_notice)
    day.echo(f"    one-time notice: {notice}")
    staff, post = day.clerk("county-desk")
    again = day.intake.SupplyMaterials(ipb.SupplyMaterialsRequest(
        case_number=played.number, materials=[ipb.ProvidedMaterial(code="hardship_proof")], clerk=staff),
        metadata=day.as_person(staff, post), timeout=10)
    day.echo(f"    after the supplement: {ipb.ReceiptStatus.Name(again.status)}")
    day.decide(day.task("civil_affairs", played.number), played)


def _later(hours: int) -> str:
    return (dt.datetime.now(CHINA) + dt.timedelta(hours=hours)).isoformat(timespec="minutes")


def _sign_off(day: Day, task: dpb.Task, played: Played) -> None:
    """The holder proposes, the window's approver then its checker sign: the decision takes effect."""
    day.decide(task, played, "符合控制性详细规划，拟同意")
    for kind in ("approver", "checker"):
        staff, post = day.holder(kind, task.organisation)
        reply = day.desk.SignOff(dpb.SignOffRequest(task_id=task.task_id, agree=True, opinion="同意"),
                                 metadata=day.as_person(staff, post), timeout=10)
        day.echo(f"    {day.name(staff)} signs as {kind}" + (f": {reply.result}" if reply.case_concluded else ""))
        day.concluded(played, reply)
    played.notes.append(f"proposed by {day.name(task.holder)}, signed off by approver and checker")


def _posts(day: Day) -> None:
    a, post = day.holder("handler", PLANNING_WINDOW, "A")
    b, _ = day.holder("handler", PLANNING_WINDOW, "B")
    day.desk.SetAway(dpb.SetAwayRequest(back_at=_later(4), note="下乡踏勘"), metadata=day.as_person(a, post),
                     timeout=10)
    day.echo(f"    {day.name(a)} (A) leaves an away notice: 下乡踏勘")
    played, _ = day.submit("规划许可 while A is away", "GH-001", "county-desk")
    task = day.task("planning_construction", played.number)
    day.echo(f"    the task goes to {day.name(task.holder)} (B)")
    day.act(task, "Claim", dpb.TaskRef(task_id=task.task_id))
    _sign_off(day, task, played)

    day.manager("SetAway", dpb.SetAwayRequest(staff_number=b, back_at=_later(8), note="外出培训"))
    day.echo(f"    the centre manager marks {day.name(b)} (B) absent too: 外出培训")
    played, _ = day.submit("规划许可 while A and B are away", "GH-001", "county-desk")
    pooled = day.task("planning_construction", played.number)
    day.echo(f"    the task waits in the pool: {not pooled.holder}; the centre manager is warned")
    day.manager("ClearAway", dpb.ClearAwayRequest(staff_number=a))
    (moved,) = day.manager("MoveTasks", dpb.MoveTasksRequest(task_ids=[pooled.task_id], to_staff_number=a,
                                                             reason="A 提前返岗，接办池中件")).tasks
    day.echo(f"    back early, {day.name(a)} receives it from the manager")
    _sign_off(day, moved, played)
    day.manager("ClearAway", dpb.ClearAwayRequest(staff_number=b))


def _investment(day: Day) -> None:
    item = day.ref.catalogue.item("TZ-001")
    played, _ = day.submit("投资项目 TZ-001, four stages", "TZ-001", "county-window-development-reform")
    lead = day.task("development_reform", played.number)
    day.act(lead, "StartSpecialProcedure", dpb.StartSpecialProcedureRequest(
        task_id=lead.task_id, procedure=dpb.EXPERT_REVIEW, note="项目可行性专家评审", planned_days=5))
    day.act(lead, "EndSpecialProcedure", dpb.TaskRef(task_id=lead.task_id))
    day.act(lead, "RequestCoHandling", dpb.RequestCoHandlingRequest(
        task_id=lead.task_id, asks=[dpb.CoHandlingAsk(department="environment", ask="环境影响初步意见", limit_days=5)]))
    co = day.task("environment", played.number, co_handling=True)
    day.decide(co, played, "无重大环境制约因素")
    played.notes.append("expert review, co-handling by environment")
    for stage_index, stage in enumerate(item.stages, start=1):
        tasks = [day.task(d, played.number, stage_index) for d in stage.departments]
        replies = [day.decide(task, played) for task in tasks]
        day.echo(f"    stage {stage_index} {stage.name}: {len(tasks)} departments decided"
                 + (f", result {replies[-1].result}" if replies[-1].case_concluded else ""))


STEPS = (("window 即办件", _window_case), ("village agents' 承诺件", _agents), ("a supplement round", _supplement),
         ("posts at work: A, B, the pool, the sign-off chain", _posts), ("a parallel-approval project", _investment))


def run_demo(settings: SystemSettings, echo=print, progress: bool = True) -> dict:
    day = Day(settings, echo)
    started = time.perf_counter()
    try:
        for name, step in tqdm(STEPS, desc="demo", unit="step", disable=not progress, leave=False):
            echo(f"{name}:")
            step(day)
        views = _read_back(day)
    finally:
        day.close()
    elapsed = time.perf_counter() - started
    latencies = [(c.concluded - c.submitted) * 1000 for c in day.cases if c.concluded]
    concluded = [v for v in views.values() if v.status == "concluded"]
    return {
        "cases": len(day.cases), "concluded": len(concluded),
        "lost": sum(1 for v in views.values() if v.status != "concluded"),
        "duplicated": sum(max(0, [h.kind for h in v.history].count("concluded") - 1) for v in views.values()),
        "cases_per_s": round(len(concluded) / elapsed, 2), "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1), "steps": len(STEPS), "seconds": round(elapsed, 1),
        "table": [{"case": c.number, "what": c.label, "status": views[c.number].status, "result": c.result,
                   "history": len(views[c.number].history), "notes": "; ".join(c.notes)} for c in day.cases],
        "tracked": day.tracked,
    }


def _read_back(day: Day) -> dict[str, ipb.CaseView]:
    """Every case as staff see it once intake has archived it, and one as its applicant sees it."""
    views = {}
    for played in day.cases:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            view = day.intake.GetCase(ipb.GetCaseRequest(case_number=played.number),
                                      metadata=day._auth("supervision"), timeout=10)
            if view.archived or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        views[played.number] = view
    first = day.cases[-1]
    public = day.intake.Track(ipb.TrackRequest(case_number=first.number, phone_last4=first.phone[-4:]), timeout=10)
    day.tracked = {"case": public.case_number, "applicant": public.applicant_name, "id_number": public.id_number,
                   "phone": public.phone, "status": public.status, "steps": [s.summary for s in public.steps]}
    return views


def summary_lines(result: dict) -> list[str]:
    lines = ["case             status     result        history  what"]
    for row in result["table"]:
        lines.append(f"{row['case']:<16} {row['status']:<10} {row['result'] or '-':<13} {row['history']:>7}  "
                     f"{row['what']}" + (f" ({row['notes']})" if row["notes"] else ""))
    t = result["tracked"]
    lines.append(f"tracked by the applicant: {t['case']} {t['applicant']} {t['id_number']} {t['phone']} "
                 f"{t['status']}: {' → '.join(t['steps'])}")
    lines.append(f"{result['concluded']} of {result['cases']} cases concluded in {result['seconds']} s; "
                 f"submit → concluded p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms")
    return lines
