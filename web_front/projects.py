"""The lead department's view (牵头部门, e.g. 发改 for investment projects): every parallel-approval
project it coordinates, with the stage it is in, the departments of that stage and their state, the
working days used against the limits, and yellow and red in words as well as colour; each project
opens its stage view (every department's progress on the case, as on the task page).

The desk API decides which projects are the department's (ListProjects: the items whose stages it
coordinates, per the catalogue); the intake guide tells the worklist whether to offer this page
(work.leads_projects)."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from onewindow.desk.v1 import desk_pb2 as pb
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import forms
from .apis import ApiError
from .work import _missing, _not_yours, _stages, _worker, clock_of, status_name

PAGE_SIZE = 20
# A yellow light at this share of a limit used (supervision's default `warn_share`; the office's own
# warnings, at the county's share, are on its board), red when the limit is passed.
YELLOW_SHARE = 0.8


@dataclass(frozen=True)
class Light:
    level: str  # "" | "yellow" | "red" | "paused"

    @property
    def css(self) -> str:
        """The style sheet's classes for a late and a near deadline (colour beside the words)."""
        return {"red": "overdue", "yellow": "flag"}.get(self.level, "")

    @property
    def text(self) -> str:
        return {"yellow": "黄灯：临近时限", "red": "红灯：已超时限", "paused": "计时暂停"}.get(self.level, "")


def light(used: int, limit: int, paused: bool = False) -> Light:
    if paused:
        return Light("paused")
    if used > limit:
        return Light("red")
    return Light("yellow" if limit and used >= YELLOW_SHARE * limit else "")


def task_light(task: pb.Task) -> Light:
    clock = clock_of(task)
    return light(clock.used, clock.limit, clock.paused)


async def projects(request: Request):
    """并联审批项目: the projects in handling (or ended), in case number order, a page at a time."""
    worker = await _worker(request)
    if isinstance(worker, Response):
        return worker
    q = request.query_params
    ended = q.get("ended") == "1"
    token = q.get("after", "")[:40]
    try:
        reply = await worker.call(worker.front.apis.desk.ListProjects, pb.ListProjectsRequest(
            ended=ended, page_size=PAGE_SIZE, page_token=token))
    except ApiError as error:
        if error.code != "INVALID_ARGUMENT" or not token:
            raise
        reply = await worker.call(worker.front.apis.desk.ListProjects, pb.ListProjectsRequest(
            ended=ended, page_size=PAGE_SIZE))
    org = worker.front.org
    rows = [(p, light(p.used_days, p.limit_days, False),
             [(t, (org.department(t.department).name if org.department(t.department) else t.department),
               clock_of(t), task_light(t)) for t in p.tasks]) for p in reply.projects]
    following = urlencode({"after": reply.next_page_token, **({"ended": "1"} if ended else {})}) \
        if reply.next_page_token else ""
    return worker.page("projects.html", rows=rows, ended=ended, following=following, first=bool(token),
                       status_name=status_name)


async def project(request: Request):
    """A project's stage view: every department of every stage, as GetProgress gives it."""
    worker = await _worker(request)
    if isinstance(worker, Response):
        return worker
    number = request.path_params["case_number"]
    if not forms.CASE_NUMBER.fullmatch(number):
        return _missing(request)
    try:
        progress = await worker.call(worker.front.apis.desk.GetProgress, pb.GetProgressRequest(case_number=number))
    except ApiError as error:
        if error.code == "PERMISSION_DENIED":
            return _not_yours(request)
        if error.code in ("NOT_FOUND", "INVALID_ARGUMENT"):
            return _missing(request)
        raise
    return worker.page("projects_case.html", progress=progress, stages=_stages(worker, progress), current_task="",
                       status_name=status_name, light_of=task_light)


ROUTES = [
    Route("/work/projects", projects),
    Route("/work/projects/{case_number}", project),
]
