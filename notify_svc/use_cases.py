"""Notify's use cases: plan the notices of an event (with the inbox mark, once per event), and
send what is due, retrying transient failures with backoff and recording permanent ones."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from hall.catalogue import Catalogue, OrgChart
from hall.staff import Staff
from services.contracts import Envelope
from services.inbox import Early
from services.metrics import NOTICES
from services.privacy import mask_phone
from services.uow import UnitOfWork

from . import notices, store
from .channels import PermanentFailure, TransientFailure

log = logging.getLogger(__name__)


def delivery_key(row: dict) -> str:
    """The same on every attempt of one delivery, and names no person (for the receiving end)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"onewindow:{row['event_id']}:{row['notice']}:{row['channel']}:"
                                              f"{row['recipient']}"))


def masked(channel: str, recipient: str) -> str:
    if channel == "sms":
        return mask_phone(recipient)
    if channel == "email":
        user, _, domain = recipient.partition("@")
        return f"{user[:1]}***@{domain}"
    return recipient


@dataclass
class Notify:
    catalogue: Catalogue
    org: OrgChart  # the departments' and windows' names, the windows' public phones in applicants' notices
    channels: dict  # name -> channel
    attempts: int
    backoff_seconds: float
    staff: Staff | None = None  # the staff register: the work phones of the hall's own people

    def agent_changed(self, uow: UnitOfWork, case_number: str, agent: str) -> None:
        """An agent leaving office gave the case to another: the case's notices to its agent go to that one."""
        if not store.change_agent(uow, case_number, agent):
            raise Early(f"CaseAgentsChanged of case {case_number} before the applicant's contact")

    def deliver(self, uow: UnitOfWork, envelope: Envelope, planner: notices.Planner) -> int:
        """Record the deliveries of the notices `planner` writes for an event; returns how many."""
        contact = notices.contact_of(envelope)
        applicants = notices.is_applicants(envelope)
        # intake's first events of a case carry the contact and the accepting organisation; later
        # events find both in the row they left
        organisation = envelope.payload.get("organisation", "") if applicants else ""
        if contact and envelope.case_number and applicants:
            store.save_contact(uow, envelope.case_number, envelope.payload["item_code"], contact, organisation,
                               envelope.payload.get("agent") or "")
        known = store.contact(uow, envelope.case_number) if envelope.case_number else None
        contact = contact or (known if applicants else None)
        item_code = envelope.payload.get("item_code") or (known or {}).get("item_code")
        organisation = organisation or (known or {}).get("organisation", "")
        planned = 0
        agent = (envelope.payload.get("agent") or (known or {}).get("agent", "")) if applicants else ""
        planned_notices = notices.plan(envelope, planner, self.catalogue, self.org, contact, item_code, organisation,
                                       self.staff.register if self.staff else None, agent)
        if applicants and not contact and any(n.audience == notices.APPLICANT for n in planned_notices):
            # Every case's first event carries the contact; through queues of their own, events
            # overtake one another: this one comes again once the first has been recorded.
            raise Early(f"{envelope.type} of case {envelope.case_number} before the applicant's contact")
        for notice in planned_notices:
            for channel, recipient in self._routes(notice, contact):
                store.plan(uow, envelope.id, envelope.case_number, notice.notice, channel, recipient,
                           notice.subject, notice.body)
                planned += 1
        return planned

    def _routes(self, notice: notices.Notice, contact: dict | None) -> list[tuple[str, str]]:
        if notice.audience == notices.DEPARTMENT:
            hook = self.channels.get("webhook")
            return [("webhook", notice.department)] if hook and hook.knows(notice.department) else []
        if notice.audience == notices.STAFF:
            person = self.staff.register.person(notice.staff) if self.staff else None
            return [("sms", person.work_phone)] if "sms" in self.channels and person and person.active else []
        if not contact:
            return []
        routes = []
        if "sms" in self.channels and contact.get("phone"):
            routes.append(("sms", contact["phone"]))
        if "email" in self.channels and contact.get("email"):
            routes.append(("email", contact["email"]))
        return routes

    def send_all_due(self, unit_of_work, stopping=lambda: False) -> None:
        """Send the notices that are due, a batch at a time, until none is left (the bus process's
        timer)."""
        while self.send_due(unit_of_work) and not stopping():
            pass

    def send_due(self, unit_of_work, limit: int = 20) -> int:
        """Send one batch of due notices; returns how many were tried."""
        with unit_of_work() as uow:
            due = store.claim_due(uow, limit)
        for row in due:
            self._send(unit_of_work, row)
        return len(due)

    def _send(self, unit_of_work, row: dict) -> None:
        channel = self.channels.get(row["channel"])
        recipient = masked(row["channel"], row["recipient"])
        try:
            if channel is None:
                raise PermanentFailure(f"channel {row['channel']} is not configured")
            channel.send(row["recipient"], row["subject"], row["body"], delivery_key(row))
        except TransientFailure as exc:
            if row["attempts"] < self.attempts:
                delay = self.backoff_seconds * 2 ** (row["attempts"] - 1)
                with unit_of_work() as uow:
                    store.retry_later(uow, row["id"], delay, str(exc))
                NOTICES.labels(row["notice"], row["channel"], "retried").inc()
                return
            self._dead(unit_of_work, row, recipient, f"gave up after {row['attempts']} attempts: {exc}")
            return
        except PermanentFailure as exc:
            self._dead(unit_of_work, row, recipient, str(exc))
            return
        with unit_of_work() as uow:
            store.mark_sent(uow, row["id"])
            uow.emit("NoticeDelivered", row["case_number"], {"notice": row["notice"], "channel": row["channel"],
                                                             "recipient": recipient, "attempts": row["attempts"]})
        NOTICES.labels(row["notice"], row["channel"], "sent").inc()

    def _dead(self, unit_of_work, row: dict, recipient: str, error: str) -> None:
        log.warning("notice %s #%d by %s to %s is dead: %s", row["notice"], row["id"], row["channel"], recipient, error)
        with unit_of_work() as uow:
            store.mark_dead(uow, row["id"], error)
            uow.emit("NoticeFailed", row["case_number"], {"notice": row["notice"], "channel": row["channel"],
                                                          "recipient": recipient, "attempts": row["attempts"],
                                                          "error": error[:1000]})
        NOTICES.labels(row["notice"], row["channel"], "dead").inc()
