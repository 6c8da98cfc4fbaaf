"""Handling a message exactly once, and dead-lettering the ones that cannot be handled.

`Inbox.handle` runs a handler inside a unit of work that also records the message id for that
handler: a redelivered message finds its mark and is skipped. A handler that raises is retried a
bounded number of times with backoff; then the message goes to the dead-letter queue with its
error and is marked so that a redelivery is skipped too. Database and broker outages are not the
message's fault: they are raised so that the message goes back to its queue for later.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import tenacity

from .contracts import ContractError, Envelope, parse_envelope
from .metrics import HANDLER_SECONDS, MESSAGES_HANDLED
from .relay import RECOVERABLE, Publisher
from .uow import UnitOfWork

log = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, Envelope], None]


class Inbox:
    def __init__(self, unit_of_work: Callable, service: str, dead_letters: Publisher,
                 attempts: int = 5, backoff_seconds: float = 0.05, outage_pause_seconds: float = 1.0):
        self.unit_of_work = unit_of_work
        self.service = service
        self.dead_letters = dead_letters
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.outage_pause_seconds = outage_pause_seconds

    def handle(self, handler: str, raw: Any, fn: Handler) -> str:
        """Returns the outcome: 'done', 'duplicate' or 'dead_lettered'."""
        started = time.perf_counter()
        try:
            outcome = self._handle(handler, raw, fn)
        except RECOVERABLE:
            MESSAGES_HANDLED.labels(self.service, handler, "retried").inc()
            time.sleep(self.outage_pause_seconds)  # the message is requeued: do not spin on an outage
            raise
        MESSAGES_HANDLED.labels(self.service, handler, outcome).inc()
        HANDLER_SECONDS.labels(self.service, handler).observe(time.perf_counter() - started)
        return outcome

    def _handle(self, handler: str, raw: Any, fn: Handler) -> str:
        try:
            envelope = parse_envelope(raw)
        except ContractError as exc:
            self._dead_letter(handler, raw, exc, attempts=1)
            return "dead_lettered"
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=tenacity.wait_exponential(multiplier=self.backoff_seconds, max=2.0),
            retry=tenacity.retry_if_not_exception_type(RECOVERABLE),
            reraise=True,
        )
        try:
            return retrying(self._once, handler, envelope, fn)
        except RECOVERABLE:
            raise
        except Exception as exc:
            log.warning("%s.%s gave up on %s %s after %d attempts: %r", self.service, handler,
                        envelope.type, envelope.id, self.attempts, exc)
            self._dead_letter(handler, raw, exc, self.attempts, envelope)
            return "dead_lettered"

    def _once(self, handler: str, envelope: Envelope, fn: Handler) -> str:
        with self.unit_of_work() as uow:
            if not uow.mark_processed(envelope, handler):
                return "duplicate"
            fn(uow, envelope)
        return "done"

    def _dead_letter(self, handler: str, raw: Any, error: Exception, attempts: int,
                     envelope: Envelope | None = None) -> None:
        reason = f"{type(error).__name__}: {error}"
        body = raw if isinstance(raw, dict) else {"unparsed": json.dumps(raw, default=str)}
        self.dead_letters.publish(
            body, routing_key=f"{self.service}.{handler}",
            message_id=str(envelope.id) if envelope else None,
            headers={"x-service": self.service, "x-handler": handler, "x-attempts": attempts,
                     "x-error": reason[:2000]},
        )
        if envelope is not None:
            with self.unit_of_work() as uow:
                uow.mark_processed(envelope, handler, "dead_lettered", reason, attempts)
