"""The load generator behind `./onewindow load`: applicants submit at a steady arrival rate and
simulated departments decide over the gRPC desk, each as soon as its task arrives.

Measured per case: submit → all first-stage tasks received by the departments; the concluding
decision sent → its reply saying the case concluded; submit → concluded. Checked at the end:
every accepted case concluded exactly once, no task delivered as new work twice. A case not
concluded when the drain ends is counted lost only if the store confirms it (tooling.loadverdict:
not concluded, nothing of it in flight anywhere); otherwise it is unfinished, shown apart. The
generator's own CPU (this process: the applicants' and departments' threads) is reported apart,
since it shares the cores with the system.

The clients behave as correct clients do when the system is disturbed (`onewindow chaos`): a
Submit that fails for want of an answer (UNAVAILABLE, DEADLINE_EXCEEDED) is sent again with the
same request id, which the intake API answers with the first one's receipt; a Decide likewise,
and when the retry finds the task already decided (FAILED_PRECONDITION) the department asks for
the case's progress to learn whether its decision concluded the case.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import random
import resource
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import grpc
from onewindow.desk.v1 import desk_pb2 as dpb
from onewindow.desk.v1 import desk_pb2_grpc
from onewindow.identity.v1 import identity_pb2 as idpb
from onewindow.identity.v1 import identity_pb2_grpc
from onewindow.intake.v1 import intake_pb2 as ipb
from onewindow.intake.v1 import intake_pb2_grpc
from stdnum.cn import ric
from tqdm import tqdm

from hall.catalogue import Item, OrgChart
from hall.reference import load_reference
from intake_svc.acceptance import with_check_digit
from services.access import read_tokens
from services.grpcutil import api_channel

from .loadverdict import LOST, UNFINISHED, StoreLook, fates, moving
from .settings import SystemSettings

CALL_TIMEOUT = 10.0
DRAIN_SECONDS = 60.0
# Between the two looks at the store that must both find a case neither concluded nor in flight
# before it is called lost: a message being handled at the first look has committed by the second.
SECOND_LOOK_SECONDS = 2.0
# A call that got no answer may or may not have taken effect; both calls retried are idempotent
# (Submit on its request id, Decide on its task), so the client sends it again until this deadline.
# CANCELLED: a call still running when its server stopped and the grace period ran out.
RETRY_SECONDS = 180.0
RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}


def parse_mix(text: str) -> dict[str, float]:
    """'TZ-002=3,TZ-001=1' → {'TZ-002': 3.0, 'TZ-001': 1.0}; a bare code weighs 1."""
    mix: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        code, _, weight = part.partition("=")
        try:
            value = float(weight) if weight else 1.0
        except ValueError:
            raise ValueError(f"{part!r}: the weight after '=' must be a number") from None
        if not code or value <= 0:
            raise ValueError(f"{part!r}: expected ITEM=WEIGHT with a positive weight")
        mix[code.strip()] = value
    if not mix:
        raise ValueError("the mix names no item")
    return mix


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of `values`; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def id_number(rng: random.Random) -> str:
    first = f"340521{rng.randint(1986, 2004)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return first + ric.calc_check_digit(first + "0")


def accepting_organisation(item: Item, org: OrgChart) -> str:
    """Where an applicant would hand the item in at the county: its department's window, or the desk."""
    window = next((o for o in org.organisations if o.kind.value == "window" and o.level.value == "county"
                   and o.department == item.department), None)
    return window.code if window else "county-desk"


def application(item: Item, organisation: str, rng: random.Random) -> ipb.SubmitRequest:
    """A complete application for `item`: every material, its form's required fields, a valid
    applicant and project code."""
    return ipb.SubmitRequest(
        request_id=uuid.uuid4().hex, item_code=item.code, channel=ipb.WINDOW, organisation=organisation,
        first_clerk="load-clerk", applicant=ipb.Applicant(name="测试申请人", id_number=id_number(rng),
                                                            phone=f"139{rng.randint(0, 10**8 - 1):08d}"),
        materials=[ipb.ProvidedMaterial(code=m.code) for m in item.materials],
        form={f.code: f.label[:f.max_length] for f in item.fields if f.required},
        project_code=with_check_digit(f"2026-340521-65-03-{rng.randint(0, 99999):05d}") if item.requires_project_code else "")


def first_stage_size(item: Item) -> int:
    return len(item.stages[0].departments) if item.stages else 1 + len(item.co_departments)


def departments_of(item: Item) -> set[str]:
    return {item.department, *item.co_departments, *(d for s in item.stages for d in s.departments)}


@dataclass
class CaseTimes:
    submitted: float
    expected: int
    assigned: list[float] = field(default_factory=list)
    decision_sent: float | None = None
    concluded: float | None = None
    conclusions: int = 0


class Books:
    """What the applicants and departments saw, shared by their threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.cases: dict[str, CaseTimes] = {}
        self.seen_tasks: set[str] = set()
        self.duplicate_tasks = 0
        # conclusions of cases whose receipt had not come back yet (a Submit answered on a retry)
        self.concluded_before_receipt: dict[str, tuple[float, float]] = {}
        self.errors: Counter[str] = Counter()
        self.all_concluded = threading.Condition(self.lock)

    def error(self, exc: grpc.RpcError | str) -> None:
        with self.lock:
            self.errors[exc if isinstance(exc, str) else exc.code().name] += 1

    def call(self, method, request, what: str, **kw):
        """`method(request)`, sent again after an answer that says nothing of its effect, until
        RETRY_SECONDS; an error that does say (or the deadline) is raised."""
        deadline = time.monotonic() + RETRY_SECONDS
        pause = 0.2
        while True:
            try:
                return method(request, timeout=CALL_TIMEOUT, wait_for_ready=True, **kw)
            except grpc.RpcError as exc:
                self.error(exc)
                if exc.code() not in RETRYABLE or time.monotonic() + pause > deadline:
                    if exc.code() in RETRYABLE:
                        self.error(f"{what}_abandoned")
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 2.0)

    def open_cases(self) -> int:
        return sum(1 for c in self.cases.values() if c.concluded is None)

    def open_numbers(self) -> list[str]:
        with self.lock:
            return sorted(n for n, c in self.cases.items() if c.concluded is None)


class Department:
    """A department's system: one watch stream, decisions on a shared pool, reconnects with its cursor."""

    def __init__(self, code: str, token: str, stub, books: Books, pool: ThreadPoolExecutor, stop: threading.Event,
                 cursor: int = 0):
        self.code, self.books, self.pool, self.stop, self.stub = code, books, pool, stop, stub
        self.metadata = (("authorization", f"Bearer {token}"),)
        self.cursor = cursor
        self.thread = threading.Thread(target=self._watch, name=f"dept-{code}", daemon=True)
        self.stream = None

    def _watch(self) -> None:
        while not self.stop.is_set():
            try:
                self.stream = self.stub.WatchTasks(dpb.WatchTasksRequest(after_cursor=self.cursor),
                                                   metadata=self.metadata)
                for item in self.stream:
                    self.cursor = item.cursor
                    if item.reason == "assigned":
                        self._arrived(item.task, time.perf_counter())
            except grpc.RpcError as exc:
                if not self.stop.is_set():
                    self.books.error(exc)
                    self.stop.wait(0.5)

    def _arrived(self, task: dpb.Task, now: float) -> None:
        with self.books.lock:
            if task.task_id in self.books.seen_tasks:
                self.books.duplicate_tasks += 1
                return
            self.books.seen_tasks.add(task.task_id)
            case = self.books.cases.get(task.case_number)
            if case is not None and task.stage == 1 and task.role != dpb.CO_HANDLING:
                case.assigned.append(now)
        self.pool.submit(self._decide, task)

    def _decide(self, task: dpb.Task) -> None:
        sent = time.perf_counter()
        request = dpb.DecideRequest(task_id=task.task_id, decision=dpb.APPROVE, opinion="同意",
                                    legal_basis="《中华人民共和国行政许可法》第三十八条")
        try:
            concluded = self.books.call(self.stub.Decide, request, "decide", metadata=self.metadata).case_concluded
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.FAILED_PRECONDITION:
                return
            try:  # decided already: by this very request, whose answer was lost?
                concluded = self._concluded_by(task)
            except grpc.RpcError:
                return
        if concluded:
            done = time.perf_counter()
            with self.books.lock:
                case = self.books.cases.get(task.case_number)
                if case is None:
                    self.books.concluded_before_receipt[task.case_number] = (sent, done)
                    return
                case.conclusions += 1
                case.decision_sent, case.concluded = sent, done
                self.books.all_concluded.notify_all()

    def _concluded_by(self, task: dpb.Task) -> bool:
        """Whether the case concluded with `task`'s decision: the case is concluded, and of its
        decided stage tasks `task` was decided last (decisions on a case are taken under its lock)."""
        progress = self.books.call(self.stub.GetProgress, dpb.GetProgressRequest(case_number=task.case_number),
                                   "progress", metadata=self.metadata)
        if progress.status != "concluded":
            return False
        decided = [t for t in progress.tasks if t.decided_at and t.role != dpb.CO_HANDLING]
        last = max(decided, key=lambda t: dt.datetime.fromisoformat(t.decided_at), default=None)
        return last is not None and last.task_id == task.task_id

    def close(self) -> None:
        if self.stream is not None:
            self.stream.cancel()


def person_bearers(settings: SystemSettings, organisations: set[str], departments: set[str]) -> dict[str, str]:
    """Signed-in persons in place of the systems' tokens: for each accepting organisation the A
    holder of its clerk post, for each department the A holder of the handler post at its county
    office. Each gets a first password (set in the store, as county IT's command does), changes it
    over the identity API and acts with the credential that answer gives."""
    from hall.staff import load_staff

    from .people import set_first_passwords

    ref = load_reference(settings)
    register = load_staff(settings.staff, ref.org)
    wanted = {code: (("acceptance_clerk", "window_clerk"), code) for code in organisations}
    wanted |= {code: (("handler",), ref.org.office_for(code, "county-centre").code) for code in departments}
    holders = {}
    for code, (kinds, at) in wanted.items():
        holders[code] = next((p.staff_number, h.post_id) for p in register.persons if p.active for h in p.posts
                             if h.post in kinds and h.at == at and h.holder == "A")
    firsts = {f.staff_number: f.password for f in
              set_first_passwords(settings, sorted({s for s, _ in holders.values()}), replace=True)}
    with api_channel(settings, settings.identity_port, settings.identity_host) as channel:
        identity = identity_pb2_grpc.IdentityStub(channel)
        return {code: identity.ChangePassword(idpb.ChangePasswordRequest(
            staff_number=staff, current_password=firsts[staff], new_password=f"load-{uuid.uuid4().hex}",
            post_id=post), timeout=CALL_TIMEOUT).credential for code, (staff, post) in holders.items()}


def look_at_store(settings: SystemSettings, numbers: list[str]) -> StoreLook:
    """The store and the broker as they stand, for the cases `numbers` (see tooling.loadverdict)."""
    import kombu
    import psycopg

    from services.bus import queue_name

    from .processes import SERVICES

    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        def numbers_of(query: str) -> frozenset[str]:
            return frozenset(n for (n,) in conn.execute(query, [numbers]).fetchall())

        statuses = dict(conn.execute("SELECT case_number, status FROM intake.cases WHERE case_number = ANY(%s)",
                                     [numbers]).fetchall())
        concluded = frozenset(n for n, s in statuses.items() if s == "concluded") | numbers_of(
            "SELECT case_number FROM approval.cases WHERE status = 'concluded' AND case_number = ANY(%s)")
        unpublished = frozenset().union(*(numbers_of(
            f"SELECT envelope->>'case_number' FROM {s.name}.outbox WHERE published_at IS NULL "
            "AND envelope->>'case_number' = ANY(%s)") for s in SERVICES))
        open_tasks = numbers_of("SELECT DISTINCT case_number FROM approval.tasks "
                                "WHERE status NOT IN ('decided', 'withdrawn') AND case_number = ANY(%s)")
    queued = 0
    with kombu.Connection(settings.amqp_url) as conn:
        channel = conn.channel()
        for service in SERVICES:
            for handler in service.handlers():
                queued += channel.queue_declare(queue_name(service.name, handler), passive=True).message_count
    return StoreLook(concluded, unpublished, open_tasks, statuses, queued)


def store_fates(settings: SystemSettings, numbers: list[str]) -> dict[str, str]:
    """Lost or unfinished, for each case its clients did not see concluded: lost only when two
    looks at the store, SECOND_LOOK_SECONDS apart, confirm it."""
    import amqp.exceptions
    import kombu.exceptions
    import psycopg

    if not numbers:
        return {}
    try:
        first = look_at_store(settings, numbers)
        if first.queued or all(n in moving(first) for n in numbers):
            return fates(numbers, first, first)
        time.sleep(SECOND_LOOK_SECONDS)
        return fates(numbers, first, look_at_store(settings, numbers))
    except (psycopg.Error, OSError, kombu.exceptions.KombuError, amqp.exceptions.AMQPError):
        return dict.fromkeys(numbers, UNFINISHED)  # the store did not answer (a fault of `chaos`): nothing confirmed


def run_load(settings: SystemSettings, *, cases: int | None = None, duration: float | None = None, rate: float = 40.0,
             concurrency: int = 32, mix: dict[str, float] | None = None, echo=print, progress: bool = True,
             drain: float = DRAIN_SECONDS, books: Books | None = None, cursors: dict[str, int] | None = None,
             as_persons: bool = False) -> dict:
    """Submit at `rate` per second for `cases` cases or `duration` seconds; return the figures.

    `drain`: seconds to wait after the last arrival for the open cases to conclude. `books`: where
    the clients record what they saw, for a caller that compares it with the store afterwards.
    `cursors`: where each department's watch resumes, updated at the end, for a caller that runs
    several batches on one system (a department system keeps its cursor across sessions).
    `as_persons`: clerks and handlers sign in and act with their credentials, instead of the
    organisations' and departments' system tokens (what the credential checks cost).
    """
    ref = load_reference(settings)
    mix = mix or {"TZ-002": 1.0}
    items = {code: ref.catalogue.item(code) for code in mix}
    unknown = [code for code, item in items.items() if item is None]
    if unknown:
        raise ValueError(f"not in the catalogue: {', '.join(unknown)}")
    total = cases if cases is not None else int(rate * (duration or 60.0))
    tokens = read_tokens(settings.desk_tokens)
    rng = random.Random(20261125)
    books, stop = books or Books(), threading.Event()
    intake_channel = api_channel(settings, settings.intake_port)
    desk_channel = api_channel(settings, settings.desk_port)
    intake = intake_pb2_grpc.IntakeStub(intake_channel)
    desk = desk_pb2_grpc.DepartmentDeskStub(desk_channel)
    deciders = ThreadPoolExecutor(64, thread_name_prefix="decide")
    cursors = {} if cursors is None else cursors
    deciding = sorted(set().union(*(departments_of(i) for i in items.values())))
    organisations = {code: accepting_organisation(item, ref.org) for code, item in items.items()}
    if as_persons:
        tokens = person_bearers(settings, set(organisations.values()), set(deciding))
    departments = [Department(code, tokens[code], desk, books, deciders, stop, cursors.get(code, 0))
                   for code in deciding]
    for d in departments:
        d.thread.start()
    codes, weights = list(mix), list(mix.values())
    slots = threading.Semaphore(concurrency)
    bar = tqdm(total=total, desc="cases concluded", unit="case", disable=not progress, leave=False, mininterval=1.0)

    def submit(request: ipb.SubmitRequest, item: Item) -> None:
        started = time.perf_counter()
        token = tokens.get(request.organisation)  # the accepting organisation's clerks submit
        try:
            receipt = books.call(intake.Submit, request, "submit",
                                 metadata=(("authorization", f"Bearer {token}"),) if token else None)
        except grpc.RpcError:
            return
        finally:
            slots.release()
        if receipt.status in (ipb.ACCEPTED, ipb.ACCEPTED_WITH_COMMITMENT):
            with books.lock:
                case = books.cases.setdefault(receipt.case_number, CaseTimes(started, first_stage_size(item)))
                if receipt.case_number in books.concluded_before_receipt:
                    case.conclusions += 1
                    case.decision_sent, case.concluded = books.concluded_before_receipt.pop(receipt.case_number)
        else:
            with books.lock:
                books.errors[f"receipt_{ipb.ReceiptStatus.Name(receipt.status)}"] += 1

    submitters = ThreadPoolExecutor(concurrency, thread_name_prefix="submit")
    echo(f"load: {total} cases at {rate}/s, concurrency {concurrency}, mix {mix}, drain {drain:g} s")
    cpu_before = _own_cpu()
    start = time.perf_counter()
    try:
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            slots.acquire()
            code = rng.choices(codes, weights)[0]
            submitters.submit(submit, application(items[code], organisations[code], rng), items[code])
            _progress(bar, books)
        submitters.shutdown(wait=True)
        arrivals_end = time.perf_counter()
        with books.lock:
            books.all_concluded.wait_for(lambda: books.open_cases() == 0, timeout=drain)
        _progress(bar, books)
        generator_cpu = _own_cpu() - cpu_before
    finally:
        stop.set()
        for d in departments:
            d.close()
        deciders.shutdown(wait=True)
        cursors.update({d.code: d.cursor for d in departments})
        bar.close()
        intake_channel.close()
        desk_channel.close()
    verdicts = store_fates(settings, books.open_numbers())
    return {**_figures(books, start, arrivals_end, rate, concurrency, mix, verdicts, generator_cpu),
            "drain_s": drain, "callers": "persons" if as_persons else "systems"}


def _own_cpu() -> float:
    """CPU seconds of this process so far (user and system, every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _progress(bar: tqdm, books: Books) -> None:
    with books.lock:
        concluded = len(books.cases) - books.open_cases()
    bar.update(concluded - bar.n)  # tqdm draws at most once a second


def _figures(books: Books, start: float, arrivals_end: float, rate: float, concurrency: int, mix: dict,
             verdicts: dict[str, str], generator_cpu: float) -> dict:
    done = [c for c in books.cases.values() if c.concluded is not None]
    end = max([c.concluded for c in done], default=arrivals_end)
    ms = 1000.0
    assigned = [(max(c.assigned) - c.submitted) * ms for c in books.cases.values() if len(c.assigned) >= c.expected]
    conclude = [(c.concluded - c.decision_sent) * ms for c in done]
    total = [(c.concluded - c.submitted) * ms for c in done]
    return {
        "cases": len(books.cases), "concluded": len(done),
        "lost": sum(v == LOST for v in verdicts.values()),
        "unfinished": sum(v == UNFINISHED for v in verdicts.values()),
        "lost_cases": sorted(n for n, v in verdicts.items() if v == LOST)[:20],
        "duplicated": sum(c.conclusions - 1 for c in done if c.conclusions > 1) + books.duplicate_tasks,
        "cases_per_s": round(len(done) / (end - start), 1) if done else 0.0,
        "p50_ms": round(percentile(total, 50), 1), "p99_ms": round(percentile(total, 99), 1),
        "max_ms": round(max(total, default=0.0), 1),
        "assigned_p50_ms": round(percentile(assigned, 50), 1), "assigned_p99_ms": round(percentile(assigned, 99), 1),
        "conclude_p50_ms": round(percentile(conclude, 50), 1), "conclude_p99_ms": round(percentile(conclude, 99), 1),
        "rate": rate, "concurrency": concurrency, "mix": mix, "duration_s": round(end - start, 1),
        "arrivals_s": round(arrivals_end - start, 1), "cores": os.cpu_count(), "errors": dict(books.errors),
        "generator_cpu_s": round(generator_cpu, 2),
        "generator_cpu_ms_per_case": round(generator_cpu * 1000 / len(books.cases), 2) if books.cases else 0.0,
    }


def summary_lines(result: dict) -> list[str]:
    rows = [("cases accepted", result["cases"]), ("concluded", result["concluded"]),
            ("unfinished", f"{result['unfinished']} (still in flight when the {result['drain_s']:g} s drain ended)"),
            ("lost", f"{result['lost']} (confirmed by the store: not concluded, nothing in flight)"),
            ("duplicated", result["duplicated"]), ("throughput", f"{result['cases_per_s']} cases/s"),
            ("submit → all tasks assigned", f"p50 {result['assigned_p50_ms']} ms, p99 {result['assigned_p99_ms']} ms"),
            ("last decision → concluded", f"p50 {result['conclude_p50_ms']} ms, p99 {result['conclude_p99_ms']} ms"),
            ("submit → concluded", f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms"),
            ("offered", f"{result['rate']}/s for {result['arrivals_s']} s, concurrency {result['concurrency']}"),
            ("load generator CPU", f"{result['generator_cpu_ms_per_case']} ms per case "
                                   f"({result['generator_cpu_s']} s, sharing the cores)"),
            ("machine", f"{result['cores']} cores"), ("errors", result["errors"] or "none")]
    width = max(len(label) for label, _ in rows)
    return [f"{label.ljust(width)}  {value}" for label, value in rows]
