"""The intake bus process: keeps the case timeline from routing's and approval's events."""
import functools

from services.bus import Kernel, on_event
from services.config import Settings
from services.reference import load_reference

from .cases import Intake


@functools.cache
def _intake() -> Intake:
    settings = Settings()
    return Intake(load_reference(settings), settings.commitment_days)


class IntakeService:
    name = "intake"
    kernel = Kernel(warm=_intake)

    @on_event("routing", "CaseRouted")
    def record_routed(self, uow, envelope):
        _intake().record(uow, envelope)

    @on_event("approval", "StageOpened")
    def record_stage_opened(self, uow, envelope):
        _intake().record(uow, envelope)

    @on_event("approval", "SupplementRequested")
    def record_supplement_requested(self, uow, envelope):
        _intake().record(uow, envelope)

    @on_event("approval", "TaskPaused")
    def record_task_paused(self, uow, envelope):
        _intake().record(uow, envelope)

    @on_event("approval", "TaskResumed")
    def record_task_resumed(self, uow, envelope):
        _intake().record(uow, envelope)

    @on_event("approval", "CoHandlingRequested")
    def record_co_handling_requested(self, uow, envelope):
        _intake().record(uow, envelope)

    @on_event("approval", "CaseConcluded")
    def record_concluded(self, uow, envelope):
        _intake().record(uow, envelope)

    @on_event("notify", "NoticeDelivered")
    def record_notice(self, uow, envelope):
        _intake().record(uow, envelope)
