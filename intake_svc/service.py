"""The intake bus process: keeps the case timeline from routing's, approval's and notify's events."""
from hall.reference import load_reference
from services.bus import Handler, Kernel, subscribe

from .settings import IntakeSettings
from .use_cases import Intake


def use_cases(settings: IntakeSettings) -> Intake:
    return Intake(load_reference(settings), settings.commitment_days)


TIMERS = ()

HANDLERS = (
    Handler("routing", "CaseRouted", "record_routed", Intake.routed),
    Handler("approval", "StageOpened", "record_stage_opened", Intake.stage_opened),
    Handler("approval", "SupplementRequested", "record_supplement_requested", Intake.supplement_requested),
    Handler("approval", "TaskPaused", "record_task_paused", Intake.task_paused),
    Handler("approval", "TaskResumed", "record_task_resumed", Intake.task_resumed),
    Handler("approval", "CoHandlingRequested", "record_co_handling_requested", Intake.co_handling_requested),
    Handler("approval", "TaskClaimed", "record_task_claimed", Intake.task_claimed),
    Handler("approval", "TaskPooled", "record_task_pooled", Intake.task_pooled),
    Handler("approval", "TaskMoved", "record_task_moved", Intake.task_moved),
    Handler("approval", "DecisionProposed", "record_decision_proposed", Intake.decision_proposed),
    Handler("approval", "DecisionSigned", "record_decision_signed", Intake.decision_signed),
    Handler("approval", "CaseConcluded", "record_concluded", Intake.concluded),
    Handler("notify", "NoticeDelivered", "record_notice", Intake.notice_delivered),
)


@subscribe(HANDLERS)
class IntakeService:
    name = "intake"
    kernel = Kernel(use_cases, IntakeSettings)
