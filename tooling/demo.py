"""`./onewindow demo`: a day in the 示范县 halls, played through the gRPC APIs only.

A 即办件 decided at the window on the spot; village agents carrying 承诺件 up the levels; an
application with a material missing, its one-time notice, the supplement and the acceptance;
a five-department investment project through its four stages with an expert review and a
co-handling request; then each case read back, and one tracked by its applicant.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from onewindow.desk.v1 import desk_pb2 as dpb
from onewindow.desk.v1 import desk_pb2_grpc
from onewindow.intake.v1 import intake_pb2 as ipb
from onewindow.intake.v1 import intake_pb2_grpc
from tqdm import tqdm

from hall.reference import load_reference
from services.access import read_tokens
from services.grpcutil import api_channel

from .loadgen import application, percentile
from .settings import SystemSettings

WAIT_SECONDS = 30.0
LEGAL_BASIS = "《中华人民共和国行政许可法》第三十四条"


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
        self.ref = load_reference(settings)
        self.echo = echo
        self.rng = random.Random(7)
        self.tokens = read_tokens(settings.desk_tokens)
        self.channels = [api_channel(settings, settings.intake_port), api_channel(settings, settings.desk_port)]
        self.intake = intake_pb2_grpc.IntakeStub(self.channels[0])
        self.desk = desk_pb2_grpc.DepartmentDeskStub(self.channels[1])
        self.cases: list[Played] = []
        self.tracked: dict = {}

    def close(self) -> None:
        for channel in self.channels:
            channel.close()

    def _auth(self, holder: str):
        """The credentials of a department, an organisation's clerks, an agent or `supervision`."""
        return (("authorization", f"Bearer {self.tokens[holder]}"),)

    def submit(self, label: str, item_code: str, organisation: str, missing: tuple[str, ...] = (),
               **fields) -> tuple[Played, ipb.Receipt]:
        request = application(self.ref.catalogue.item(item_code), organisation, self.rng)
        kept = [m for m in request.materials if m.code not in missing]
        del request.materials[:]
        request.materials.extend(kept)
        for name, value in fields.items():
            setattr(request, name, value)
        played = Played(label, "", request.applicant.phone, time.perf_counter())
        holder = request.agent if request.channel == ipb.PROXY_AGENT else organisation
        receipt = self.intake.Submit(request, metadata=self._auth(holder), timeout=10)
        played.number = receipt.case_number
        self.cases.append(played)
        self.echo(f"  {label}: {receipt.case_number} {ipb.ReceiptStatus.Name(receipt.status)}, "
                  f"promised by {receipt.promised_deadline or '-'}")
        return played, receipt

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

    def decide(self, department: str, task: dpb.Task, played: Played, opinion: str = "符合条件，同意") -> dpb.DecideReply:
        reply = self.desk.Decide(dpb.DecideRequest(task_id=task.task_id, decision=dpb.APPROVE, opinion=opinion,
                                                   legal_basis=LEGAL_BASIS), metadata=self._auth(department),
                                 timeout=10)
        if reply.case_concluded:
            played.concluded, played.result = time.perf_counter(), reply.result
        return reply

    def act(self, department: str, method: str, request):
        return getattr(self.desk, method)(request, metadata=self._auth(department), timeout=10)


def _window_case(day: Day) -> None:
    played, _ = day.submit("即办件 at the market-regulation window", "SC-001", "county-window-market-regulation")
    day.decide("market_regulation", day.task("market_regulation", played.number), played, "当场办结")


def _agents(day: Day) -> None:
    for agent, item in (("agent-zhangqiao-liugang", "MZ-001"), ("agent-zhangqiao-dayang", "NY-001"),
                        ("agent-zhangqiao-zhangqiao", "WJ-004")):
        room = day.ref.org.agent(agent).organisation
        played, _ = day.submit(f"{agent} carries {item}", item, room, channel=ipb.PROXY_AGENT, agent=agent,
                               consent_ref=f"WT-{day.rng.randint(0, 99999):05d}")
        department = day.ref.catalogue.item(item).department
        task = day.task(department, played.number)
        played.notes.append(f"from {room} up to {task.organisation}")
        day.decide(department, task, played)


def _supplement(day: Day) -> None:
    played, receipt = day.submit("小额救助 with a proof missing", "MZ-004", "county-desk", missing=("hardship_proof",))
    notice = ", ".join(f"{line.material_name}（{line.problem}）" for line in receipt.one_time_notice)
    day.echo(f"    one-time notice: {notice}")
    again = day.intake.SupplyMaterials(ipb.SupplyMaterialsRequest(
        case_number=played.number, materials=[ipb.ProvidedMaterial(code="hardship_proof")], clerk="desk-clerk"),
        metadata=day._auth("county-desk"), timeout=10)
    day.echo(f"    after the supplement: {ipb.ReceiptStatus.Name(again.status)}")
    day.decide("civil_affairs", day.task("civil_affairs", played.number), played)


def _investment(day: Day) -> None:
    item = day.ref.catalogue.item("TZ-001")
    played, _ = day.submit("投资项目 TZ-001, four stages", "TZ-001", "county-window-development-reform")
    lead = day.task("development_reform", played.number)
    day.act("development_reform", "StartSpecialProcedure", dpb.StartSpecialProcedureRequest(
        task_id=lead.task_id, procedure=dpb.EXPERT_REVIEW, note="项目可行性专家评审", planned_days=5))
    day.act("development_reform", "EndSpecialProcedure", dpb.TaskRef(task_id=lead.task_id))
    day.act("development_reform", "RequestCoHandling", dpb.RequestCoHandlingRequest(
        task_id=lead.task_id, asks=[dpb.CoHandlingAsk(department="environment", ask="环境影响初步意见", limit_days=5)]))
    co = day.task("environment", played.number, co_handling=True)
    day.decide("environment", co, played, "无重大环境制约因素")
    played.notes.append("expert review, co-handling by environment")
    for stage_index, stage in enumerate(item.stages, start=1):
        tasks = [(d, day.task(d, played.number, stage_index)) for d in stage.departments]
        replies = [day.decide(d, task, played) for d, task in tasks]
        day.echo(f"    stage {stage_index} {stage.name}: {len(tasks)} departments decided"
                 + (f", result {replies[-1].result}" if replies[-1].case_concluded else ""))


STEPS = (("window 即办件", _window_case), ("village agents' 承诺件", _agents), ("a supplement round", _supplement),
         ("a parallel-approval project", _investment))


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
