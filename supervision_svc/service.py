"""The supervision bus process: clocks from every service's events, and a timer that raises the
warnings falling due (any number of replicas: each clock is scanned by one of them)."""
import functools

from nameko.timer import timer

from services.bus import Kernel, on_event
from services.clock import local_day
from services.config import Settings
from services.reference import load_reference

from .supervise import Supervision

POLL_SECONDS = Settings().supervision_poll_seconds


@functools.cache
def _supervision() -> Supervision:
    settings = Settings()
    return Supervision(load_reference(settings), settings.warn_share, settings.suggestion_after_reds,
                       settings.progress_notice_days)


class SupervisionService:
    name = "supervision"
    kernel = Kernel(warm=_supervision)

    @on_event("intake", "ApplicationAccepted")
    def on_accepted(self, uow, envelope):
        _supervision().record(uow, envelope)

    @on_event("intake", "ApplicationRejected")
    def on_rejected(self, uow, envelope):
        _supervision().record(uow, envelope)

    @on_event("intake", "SupplementNoticeIssued")
    def on_notice(self, uow, envelope):
        _supervision().record(uow, envelope)

    @on_event("routing", "CaseRouted")
    def on_routed(self, uow, envelope):
        _supervision().record(uow, envelope)

    @on_event("intake", "MaterialsSupplied")
    def on_materials(self, uow, envelope):
        _supervision().record(uow, envelope)

    @on_event("intake", "ApplicationWithdrawn")
    def on_withdrawn(self, uow, envelope):
        _supervision().record(uow, envelope)

    @on_event("approval", "StageOpened")
    def on_stage_opened(self, uow, envelope):
        _supervision().record(uow, envelope)

    @on_event("approval", "CoHandlingRequested")
    def on_co_handling(self, uow, envelope):
        _supervision().record(uow, envelope)

    @on_event("approval", "SupplementRequested")
    def on_supplement_requested(self, uow, envelope):
        _supervision().record(uow, envelope)

    @on_event("approval", "TaskPaused")
    def on_task_paused(self, uow, envelope):
        _supervision().record(uow, envelope)

    @on_event("approval", "TaskResumed")
    def on_task_resumed(self, uow, envelope):
        _supervision().record(uow, envelope)

    @on_event("approval", "TaskDecided")
    def on_task_decided(self, uow, envelope):
        _supervision().record(uow, envelope)

    @on_event("approval", "CaseConcluded")
    def on_concluded(self, uow, envelope):
        _supervision().record(uow, envelope)

    @timer(interval=POLL_SECONDS)
    def scan(self):
        today = local_day(self.kernel.time.now())
        while not self.kernel.stopping:
            with self.kernel.unit_of_work() as uow:
                if not _supervision().scan(uow, today):
                    break
