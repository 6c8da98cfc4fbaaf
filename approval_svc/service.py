"""The approval bus process: opens routed cases' stages, resumes tasks, closes withdrawn and lapsed
cases, and resumes suspensions whose `until` day has come."""
import logging

from nameko.timer import timer

from hall.reference import load_reference
from services.bus import Handler, Kernel, subscribe
from services.errors import NotAllowedNow

from .commands import Resume
from .settings import ApprovalSettings
from .use_cases import Handling

log = logging.getLogger(__name__)
SUSPENSION_POLL_SECONDS = 60


def use_cases(settings: ApprovalSettings) -> Handling:
    return Handling(load_reference(settings))


def end_suspensions(handling: Handling, unit_of_work, stopping=lambda: False) -> None:
    """A suspension ends on its `until` day (挂起期满): the task resumes with no extension."""
    with unit_of_work() as uow:
        due = handling.suspensions_due(uow)
    for department, task_id in due:
        if stopping():
            return
        try:
            with unit_of_work() as uow:
                handling.act(uow, department, Resume(task_id, extension_days=0))
        except NotAllowedNow:  # resumed meanwhile, by its department or another replica
            log.info("suspension of %s already ended", task_id)


TIMERS = (end_suspensions,)  # what the timers of the bus process run, for an in-process hall too
HANDLERS = (
    Handler("routing", "CaseRouted", "open_case", Handling.open_case),
    Handler("intake", "MaterialsSupplied", "resume_supplied", Handling.materials_supplied),
    Handler("intake", "ApplicationWithdrawn", "close_withdrawn", Handling.withdraw),
    Handler("supervision", "CommitmentLapsed", "close_lapsed", Handling.lapse),
)


@subscribe(HANDLERS)
class ApprovalService:
    name = "approval"
    kernel = Kernel(use_cases, ApprovalSettings)

    @timer(interval=SUSPENSION_POLL_SECONDS)
    def resume_suspensions(self):
        end_suspensions(self.kernel.use_cases, self.kernel.unit_of_work, lambda: self.kernel.stopping)
