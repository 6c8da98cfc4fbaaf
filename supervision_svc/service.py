"""The supervision bus process: clocks from every service's events, and a timer that raises the
warnings falling due (any number of replicas: each clock is scanned by one of them)."""
from hall.reference import load_reference
from services.bus import Handler, Kernel, every, subscribe
from services.timesource import local_day

from .settings import SupervisionSettings
from .use_cases import Supervision


def use_cases(settings: SupervisionSettings) -> Supervision:
    return Supervision(load_reference(settings), settings.warn_share, settings.suggestion_after_reds,
                       settings.progress_notice_days, settings.result_card_days)


def _on(method):
    """A handler from a Supervision method taking (uow, case number or None, payload, day of the event)."""
    def handle(supervision, uow, envelope):
        method(supervision, uow, envelope.case_number, envelope.payload, local_day(envelope.occurred_at))
    return handle


TIMERS = (Supervision.raise_due_warnings,)  # what the timers of the bus process run, for an in-process hall too

HANDLERS = (
    Handler("intake", "ApplicationAccepted", "on_accepted", _on(Supervision.accepted)),
    Handler("intake", "ApplicationRejected", "on_rejected", _on(Supervision.rejected)),
    Handler("intake", "SupplementNoticeIssued", "on_notice", _on(Supervision.one_time_notice)),
    Handler("intake", "ConsultationAnswered", "on_consultation", _on(Supervision.consultation_answered)),
    Handler("routing", "CaseRouted", "on_routed", _on(Supervision.routed)),
    Handler("intake", "MaterialsSupplied", "on_materials", _on(Supervision.materials_supplied)),
    Handler("intake", "ApplicationWithdrawn", "on_withdrawn", _on(Supervision.withdrawn)),
    Handler("intake", "FeeCollected", "on_fee_collected", _on(Supervision.fee_collected)),
    Handler("intake", "ResultCardSigned", "on_result_card", _on(Supervision.result_card_signed)),
    Handler("intake", "CaseAgentsChanged", "on_agents_changed", _on(Supervision.agents_changed)),
    Handler("approval", "StageOpened", "on_stage_opened", _on(Supervision.stage_opened)),
    Handler("approval", "CoHandlingRequested", "on_co_handling", _on(Supervision.co_handling_requested)),
    Handler("approval", "SupplementRequested", "on_supplement_requested", _on(Supervision.supplement_requested)),
    Handler("approval", "TaskPaused", "on_task_paused", _on(Supervision.task_paused)),
    Handler("approval", "TaskResumed", "on_task_resumed", _on(Supervision.task_resumed)),
    Handler("approval", "TaskDecided", "on_task_decided", _on(Supervision.task_decided)),
    Handler("approval", "CaseConcluded", "on_concluded", _on(Supervision.concluded)),
)


@subscribe(HANDLERS)
class SupervisionService:
    name = "supervision"
    kernel = Kernel(use_cases, SupervisionSettings)

    @every("supervision_poll_seconds")
    def scan(self):
        self.kernel.use_cases.raise_due_warnings(self.kernel.unit_of_work, lambda: self.kernel.stopping)
