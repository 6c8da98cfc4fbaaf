"""Handling a message exactly once, and dead-lettering the ones that cannot be handled.

`Inbox.handle` runs a handler inside a unit of work that also records the message id for that
handler: a redelivered message finds its mark and is skipped. A handler that raises is retried a
bounded number of times with backoff; then the message goes to the dead-letter queue with its
error and is marked so that a redelivery is skipped too. Database and broker outages are not the
message's fault: they are raised so that the message goes back to its queue for later. Nor is
coming early: a handler raises `Early` for a message that arrived before one it builds on, and
the message goes back to its queue too, for a while.
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


class Early(Exception):
    """A message that came before one it builds on (its case's acceptance, say).

    Every handler has a queue of its own, so once a backlog forms (a consumer restarted, the
    broker back after an outage) a service receives one producer's events in any order. The
    message is put back and handled again a moment later; one still early `early_seconds` after
    it first was (its predecessor lost for good) is dead-lettered, with this error.
    """


class Inbox:
    def __init__(self, unit_of_work: Callable, service: str, dead_letters: Publisher,
                 attempts: int = 5, backoff_seconds: float = 0.05, outage_pause_seconds: float = 1.0,
                 early_seconds: float = 600.0, early_pause_seconds: float = 0.2):
        self.unit_of_work = unit_of_work
        self.service = service
        self.dead_letters = dead_letters
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.outage_pause_seconds = outage_pause_seconds
        self.early_seconds = early_seconds
        self.early_pause_seconds = early_pause_seconds
        self._early: dict[tuple[str, str], float] = {}  # (handler, message id) -> when first found early

    def handle(self, handler: str, raw: Any, fn: Handler) -> str:
        """Returns the outcome: 'done', 'duplicate' or 'dead_lettered'."""
        started = time.perf_counter()
        try:
            outcome = self._handle(handler, raw, fn)
        except RECOVERABLE:
            MESSAGES_HANDLED.labels(self.service, handler, "retried").inc()
            time.sleep(self.outage_pause_seconds)  # the message is requeued: do not spin on an outage
            raise
        except Early:
            MESSAGES_HANDLED.labels(self.service, handler, "early").inc()
            time.sleep(self.early_pause_seconds)  # requeued: let what it waits for come meanwhile
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
            retry=tenacity.retry_if_not_exception_type((*RECOVERABLE, Early)),
            reraise=True,
        )
        key = (handler, str(envelope.id))
        try:
            outcome = retrying(self._once, handler, envelope, fn)
        except RECOVERABLE:
            raise
        except Early as exc:
            if not self._still_early(key):
                log.warning("%s.%s: %s %s still early after %.0fs: %s", self.service, handler, envelope.type,
                            envelope.id, self.early_seconds, exc)
                self._dead_letter(handler, raw, exc, 1, envelope)
                return "dead_lettered"
            log.info("%s.%s: %s %s put back: %s", self.service, handler, envelope.type, envelope.id, exc)
            raise
        except Exception as exc:
            log.warning("%s.%s gave up on %s %s after %d attempts: %r", self.service, handler,
                        envelope.type, envelope.id, self.attempts, exc)
            self._dead_letter(handler, raw, exc, self.attempts, envelope)
            return "dead_lettered"
        self._early.pop(key, None)
        return outcome

    def _still_early(self, key: tuple[str, str]) -> bool:
        now = time.monotonic()
        if len(self._early) > 10_000:  # marks of messages another replica went on to handle
            self._early = {k: t for k, t in self._early.items() if now - t < self.early_seconds}
        first = self._early.setdefault(key, now)
        if now - first < self.early_seconds:
            return True
        del self._early[key]
        return False

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
