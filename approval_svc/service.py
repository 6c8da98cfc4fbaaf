"""The approval bus process: opens routed cases' stages, resumes tasks, closes withdrawn and lapsed
cases, and resumes suspensions whose `until` day has come."""
from nameko.timer import timer

from hall.reference import load_reference
from hall.staff import Staff
from services.bus import Handler, Kernel, subscribe

from .settings import ApprovalSettings
from .use_cases import Handling

SUSPENSION_POLL_SECONDS = 60


def use_cases(settings: ApprovalSettings) -> Handling:
    reference = load_reference(settings)
    return Handling(reference, Staff(settings.staff, reference.org))


TIMERS = (Handling.end_due_suspensions,)  # what the timers of the bus process run, for an in-process hall too

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
        self.kernel.use_cases.end_due_suspensions(self.kernel.unit_of_work, lambda: self.kernel.stopping)
