"""`./onewindow bench-worklist`: the department's worklist at scale, measured.

Every process runs on a scratch database (as `load` and `demo` do). One window (the county civil
affairs window) is given 10,000 closed and 500 open tasks, written straight into approval's tables
in one transaction (no events: nothing else needs to know of them), with their worklist keys as the
store writes them. Its A handler signs in at the web front over HTTP, then:

1. the worklist page `/work` is fetched again and again (the first page, a filter by state, a filter
   by item, the next page by its link), and the time from request to the whole page is taken on
   this host: an upper bound of the front's server time for the page and the one ListTasks call
   behind it;
2. the desk API's other calls (GetProgress, Claim of a held task: a retried claim, which still
   locks the case and audits the act) are timed with no worklist open, then with `--worklists`
   worklists open (as many server-sent event streams on `/work/events`, all of one window: one
   upstream WatchTasks stream behind them).

Prints p50/p95/p99 in milliseconds, then one JSON line. No figure is asserted.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import re
import statistics
import threading
import time
import uuid

import httpx
import psycopg
from psycopg.types.json import Jsonb

WINDOW, DEPARTMENT, HANDLER, OTHER = "county-window-civil-affairs", "civil_affairs", "SX0018", "SX0017"
ITEMS = {"MZ-001": 20, "MZ-002": 20, "MZ-003": 30, "MZ-004": 10}


def _tasks(closed: int, open_: int, today: dt.date):
    """(case row, Task) of the window's closed and open tasks: open ones spread over the last 30
    days, some held by the B holder, some in the pool, some paused."""
    from approval_svc.desk import Task
    from hall.clock import Pause, PauseReason
    from hall.domain import Decision, TaskStatus

    codes = list(ITEMS)
    for n in range(closed + open_):
        number, code = f"9{n:014d}", codes[n % len(codes)]
        still_open = n >= closed
        assigned = today - dt.timedelta(days=60 if not still_open else n % 30)
        status = TaskStatus.DECIDED if not still_open else (TaskStatus.ASSIGNED, TaskStatus.CLAIMED)[n % 2]
        pauses = ()
        if still_open and n % 25 == 0:
            status, pauses = TaskStatus.SPECIAL_PROCEDURE, (Pause(PauseReason.SPECIAL_PROCEDURE, assigned),)
        holder = None if still_open and n % 5 == 0 else OTHER if still_open and n % 5 == 1 else HANDLER
        task = Task(id=f"{number}.1.{DEPARTMENT}", case_number=number, item_code=code, stage=1, stage_name=code,
                    department=DEPARTMENT, organisation=WINDOW, role="lead", status=status, assigned_on=assigned,
                    limit_days=ITEMS[code], pauses=pauses, procedure="hearing" if pauses else None, holder=holder,
                    post=f"{WINDOW}/handler/1",
                    **({} if still_open else {"decision": Decision.APPROVE, "opinion": "符合条件", "legal_basis": "条例",
                                              "decided_at": dt.datetime.now(dt.timezone.utc)}))
        yield number, code, still_open, task


def write_tasks(settings, closed: int, open_: int) -> float:
    """The window's tasks, straight into approval's tables; seconds taken."""
    from approval_svc import store
    from hall.reference import load_reference
    from services.timesource import local_day

    cal = load_reference(settings).calendar
    today = local_day(dt.datetime.now(dt.timezone.utc))
    started = time.perf_counter()
    cases, tasks = [], []
    for number, code, still_open, task in _tasks(closed, open_, today):
        plan = {"item_code": code, "kind": "promised", "stages": [
            {"index": 1, "name": code, "lead": DEPARTMENT, "limit_days": task.limit_days,
             "tasks": [{"department": DEPARTMENT, "organisation": WINDOW}]}]}
        cases.append((number, code, "promised", False, Jsonb(plan), 1, 1,
                      "in_handling" if still_open else "concluded", None if still_open else "issued",
                      dt.datetime.now(dt.timezone.utc)))
        tasks.append(store._row(task) + [store.due_on(task, cal)])
    with psycopg.connect(settings.database_url, options="-c search_path=approval") as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO cases (case_number, item_code, kind, reported_up, plan, stages, current_stage, "
                        "status, result, opened_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", cases)
        cur.executemany(f"INSERT INTO tasks ({', '.join(store._COLUMNS)}, due_on) "
                        f"VALUES ({', '.join(['%s'] * (len(store._COLUMNS) + 1))})", tasks)
        cur.execute("ANALYZE tasks; ANALYZE cases")
    return time.perf_counter() - started


def _csrf(page: httpx.Response) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def sign_in(settings, base: str) -> httpx.Client:
    """A browser signed in as the window's A handler (a first password, changed at once)."""
    from tooling.people import set_first_passwords

    (first,) = set_first_passwords(settings, [HANDLER], replace=True)
    browser = httpx.Client(base_url=base, follow_redirects=True, timeout=30)
    post = f"{WINDOW}/handler/1"
    page = browser.post("/sign-in", data={"csrf": _csrf(browser.get("/sign-in")), "staff_number": HANDLER,
                                          "password": first.password, "post_id": post})
    chosen = f"Bench-{uuid.uuid4().hex[:8]}-9"
    done = browser.post("/password", data={
        "csrf": _csrf(page), "first": "1", "staff_number": HANDLER, "current_password": first.password,
        "new_password": chosen, "repeat_password": chosen, "post_id": post})
    if "/work" not in str(done.url):
        raise RuntimeError(f"the handler did not reach the worklist: {done.url} {done.status_code}")
    return browser


def percentiles(seconds: list[float]) -> dict:
    ms = sorted(s * 1000 for s in seconds)
    cut = statistics.quantiles(ms, n=100, method="inclusive")
    return {"n": len(ms), "p50": round(cut[49], 1), "p95": round(cut[94], 1), "p99": round(cut[98], 1)}


def time_worklist(browser: httpx.Client, rounds: int) -> dict:
    first = browser.get("/work")
    following = re.search(r'href="(/work\?after=[^"]+)"', first.text)
    paths = ["/work", "/work?state=claimed", "/work?item=MZ-003", following.group(1).replace("&amp;", "&")
             if following else "/work?stage=1"]
    for path in paths * 5:  # warm up
        browser.get(path).raise_for_status()
    times = []
    for i in range(rounds):
        started = time.perf_counter()
        browser.get(paths[i % len(paths)]).raise_for_status()
        times.append(time.perf_counter() - started)
    return percentiles(times)


def time_desk(settings, calls: int) -> dict:
    from onewindow.desk.v1 import desk_pb2 as pb
    from onewindow.desk.v1 import desk_pb2_grpc

    from services.access import read_tokens
    from services.grpcutil import api_channel

    metadata = (("authorization", f"Bearer {read_tokens(settings.desk_tokens)[DEPARTMENT]}"),)
    with api_channel(settings, settings.desk_port) as channel:
        desk = desk_pb2_grpc.DepartmentDeskStub(channel)
        held = [t for t in desk.ListTasks(pb.ListTasksRequest(statuses=[pb.CLAIMED], page_size=100),
                                          metadata=metadata).tasks if t.holder == HANDLER][:20]
        figures = {}
        for name, call in (("GetProgress", lambda t: desk.GetProgress(pb.GetProgressRequest(
                case_number=t.case_number), metadata=metadata, timeout=10)),
                           ("Claim", lambda t: desk.Claim(pb.TaskRef(task_id=t.task_id), metadata=metadata,
                                                          timeout=10))):
            for t in held[:5]:
                call(t)
            times = []
            for i in range(calls):
                started = time.perf_counter()
                call(held[i % len(held)])
                times.append(time.perf_counter() - started)
            figures[name] = percentiles(times)
        return figures


class OpenWorklists:
    """`count` worklists' event streams held open on /work/events (the browser's session cookie),
    in a thread and event loop of their own."""

    def __init__(self, base: str, cookies, count: int):
        self.base, self.cookies, self.count = base, cookies, count
        self.open = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._hold()), name="worklists", daemon=True)

    async def _hold(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        limits = httpx.Limits(max_connections=self.count + 10, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=self.base, cookies=self.cookies, limits=limits,
                                     timeout=httpx.Timeout(30, read=None)) as client:
            async def one():
                async with client.stream("GET", "/work/events?after=0") as answer:
                    answer.raise_for_status()
                    self.open += 1
                    if self.open == self.count:
                        self._ready.set()
                    await self._stop.wait()

            tasks = [asyncio.create_task(one()) for _ in range(self.count)]
            await self._stop.wait()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def __enter__(self) -> OpenWorklists:
        self._thread.start()
        if not self._ready.wait(60):
            self.__exit__()
            raise RuntimeError(f"only {self.open} of {self.count} worklists opened")
        return self

    def __exit__(self, *exc) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)


def run(settings, closed: int, open_: int, rounds: int, worklists: int, calls: int, echo) -> dict:
    wrote = write_tasks(settings, closed, open_)
    echo(f"wrote {closed} closed and {open_} open tasks of {WINDOW} in {wrote:.1f} s")
    base = f"http://127.0.0.1:{settings.web_port}"
    browser = sign_in(settings, base)
    page = time_worklist(browser, rounds)
    echo(f"/work: {page}")
    quiet = time_desk(settings, calls)
    echo(f"desk API, no worklist open: {quiet}")
    with OpenWorklists(base, browser.cookies, worklists) as held:
        busy = time_desk(settings, calls)
        echo(f"desk API, {held.open} worklists open: {busy}")
        page_busy = time_worklist(browser, rounds)
        echo(f"/work with {held.open} worklists open: {page_busy}")
    return {"closed": closed, "open": open_, "worklist_ms": page, "worklist_ms_with_open": page_busy,
            "desk_ms_quiet": quiet, "desk_ms_with_open": busy, "worklists": worklists}

