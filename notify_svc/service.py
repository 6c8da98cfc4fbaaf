"""The notify bus process: plans the notices of every event, and sends what is due on a timer."""
import functools

from nameko.timer import timer

from services.bus import Kernel, on_event
from services.config import Settings
from services.reference import load_reference

from .channels import Email, Sms, Webhook
from .delivery import Notify

POLL_SECONDS = Settings().notify_poll_seconds


@functools.cache
def _notify() -> Notify:
    settings = Settings()
    channels = {}
    if settings.smtp_host:
        channels["email"] = Email(settings.smtp_host, settings.smtp_port, settings.smtp_from)
    if settings.sms_gateway_url:
        channels["sms"] = Sms(settings.sms_gateway_url, settings.sms_gateway_token)
    if settings.notify_webhooks:
        channels["webhook"] = Webhook.from_file(settings.notify_webhooks)
    return Notify(load_reference(settings).catalogue, channels, settings.notify_attempts,
                  settings.notify_backoff_seconds)


class NotifyService:
    name = "notify"
    kernel = Kernel(warm=_notify)

    @on_event("intake", "ApplicationAccepted")
    def on_accepted(self, uow, envelope):
        _notify().on_event(uow, envelope)

    @on_event("intake", "SupplementNoticeIssued")
    def on_one_time_notice(self, uow, envelope):
        _notify().on_event(uow, envelope)

    @on_event("intake", "ApplicationRejected")
    def on_rejected(self, uow, envelope):
        _notify().on_event(uow, envelope)

    @on_event("approval", "StageOpened")
    def on_stage_opened(self, uow, envelope):
        _notify().on_event(uow, envelope)

    @on_event("approval", "SupplementRequested")
    def on_supplement_requested(self, uow, envelope):
        _notify().on_event(uow, envelope)

    @on_event("approval", "TaskPaused")
    def on_task_paused(self, uow, envelope):
        _notify().on_event(uow, envelope)

    @on_event("approval", "CaseConcluded")
    def on_concluded(self, uow, envelope):
        _notify().on_event(uow, envelope)

    @on_event("supervision", "ProgressNoticeRequired")
    def on_progress_due(self, uow, envelope):
        _notify().on_event(uow, envelope)

    @on_event("supervision", "RectificationCompleted")
    def on_rectified(self, uow, envelope):
        _notify().on_event(uow, envelope)

    @on_event("supervision", "ComplaintAnswered")
    def on_complaint_answered(self, uow, envelope):
        _notify().on_event(uow, envelope)

    @on_event("supervision", "WarningRaised")
    def on_warning(self, uow, envelope):
        _notify().on_event(uow, envelope)

    @on_event("supervision", "WarningInstructed")
    def on_instruction(self, uow, envelope):
        _notify().on_event(uow, envelope)

    @timer(interval=POLL_SECONDS)
    def send_due(self):
        notify = _notify()
        while notify.send_due(self.kernel.unit_of_work) and not self.kernel.stopping:
            pass
