"""The notify bus process: plans the notices of every event, and sends what is due on a timer."""
from dataclasses import dataclass

from hall.reference import load_reference
from hall.staff import Staff
from services.bus import Handler, Kernel, every, subscribe

from . import notices
from .channels import Email, Sms, Webhook
from .settings import NotifySettings
from .use_cases import Notify


def use_cases(settings: NotifySettings) -> Notify:
    channels = {}
    if settings.smtp_host:
        channels["email"] = Email(settings.smtp_host, settings.smtp_port, settings.smtp_from)
    if settings.sms_gateway_url:
        channels["sms"] = Sms(settings.sms_gateway_url, settings.sms_gateway_token)
    if settings.notify_webhooks:
        channels["webhook"] = Webhook.from_file(settings.notify_webhooks)
    reference = load_reference(settings)
    return Notify(reference.catalogue, reference.org, channels, settings.notify_attempts,
                  settings.notify_backoff_seconds, Staff(settings.staff, reference.org))


@dataclass(frozen=True)
class Notices:
    """A handler that records the deliveries of the notices `planner` writes for the event."""

    planner: notices.Planner

    def __call__(self, notify: Notify, uow, envelope) -> None:
        notify.deliver(uow, envelope, self.planner)


def agents_changed(notify: Notify, uow, envelope) -> None:
    notify.agent_changed(uow, envelope.case_number, envelope.payload["agent"])


TIMERS = (Notify.send_all_due,)  # what the timers of the bus process run, for an in-process hall too

HANDLERS = (
    Handler("intake", "ApplicationAccepted", "on_accepted", Notices(notices.receipt)),
    Handler("intake", "SupplementNoticeIssued", "on_one_time_notice", Notices(notices.one_time_notice)),
    Handler("intake", "ApplicationRejected", "on_rejected", Notices(notices.not_accepted)),
    Handler("intake", "CaseAgentsChanged", "on_agents_changed", agents_changed),
    Handler("approval", "StageOpened", "on_stage_opened", Notices(notices.new_tasks)),
    Handler("approval", "TaskPooled", "on_task_pooled", Notices(notices.task_pooled)),
    Handler("approval", "SupplementRequested", "on_supplement_requested", Notices(notices.supplement_request)),
    Handler("approval", "TaskPaused", "on_task_paused", Notices(notices.special_procedure)),
    Handler("approval", "CaseConcluded", "on_concluded", Notices(notices.decision)),
    Handler("supervision", "ProgressNoticeRequired", "on_progress_due", Notices(notices.progress)),
    Handler("supervision", "RectificationCompleted", "on_rectified", Notices(notices.rectification_result)),
    Handler("supervision", "ComplaintAnswered", "on_complaint_answered", Notices(notices.complaint_answer)),
    Handler("supervision", "WarningRaised", "on_warning", Notices(notices.urge_or_escalate)),
    Handler("supervision", "WarningInstructed", "on_instruction", Notices(notices.instruction)),
)


@subscribe(HANDLERS)
class NotifyService:
    name = "notify"
    kernel = Kernel(use_cases, NotifySettings)

    @every("notify_poll_seconds")
    def send_due(self):
        self.kernel.use_cases.send_all_due(self.kernel.unit_of_work, lambda: self.kernel.stopping)
