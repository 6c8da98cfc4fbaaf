"""The approval bus process: opens routed cases' stages, resumes tasks, closes withdrawn and lapsed
cases, and resumes suspensions whose `until` day has come."""
import functools
import logging

from nameko.timer import timer

from services.bus import Kernel, on_event
from services.config import Settings
from services.errors import NotAllowedNow
from services.reference import load_reference

from .handling import Handling

log = logging.getLogger(__name__)
SUSPENSION_POLL_SECONDS = 60


@functools.cache
def _handling() -> Handling:
    return Handling(load_reference(Settings()))


class ApprovalService:
    name = "approval"
    kernel = Kernel(warm=_handling)

    @on_event("routing", "CaseRouted")
    def open_case(self, uow, envelope):
        _handling().open_case(uow, envelope)

    @on_event("intake", "MaterialsSupplied")
    def resume_supplied(self, uow, envelope):
        _handling().materials_supplied(uow, envelope)

    @on_event("intake", "ApplicationWithdrawn")
    def close_withdrawn(self, uow, envelope):
        _handling().withdraw(uow, envelope)

    @on_event("supervision", "CommitmentLapsed")
    def close_lapsed(self, uow, envelope):
        _handling().lapse(uow, envelope)

    @timer(interval=SUSPENSION_POLL_SECONDS)
    def resume_suspensions(self):
        """A suspension ends on its `until` day (挂起期满): the task resumes with no extension."""
        with self.kernel.unit_of_work() as uow:
            due = _handling().suspensions_due(uow)
        for department, task_id in due:
            if self.kernel.stopping:
                return
            try:
                with self.kernel.unit_of_work() as uow:
                    _handling().act(uow, department, task_id, "resume", extension_days=0)
            except NotAllowedNow:  # resumed meanwhile, by its department or another replica
                log.info("suspension of %s already ended", task_id)
