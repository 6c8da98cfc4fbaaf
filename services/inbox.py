"""Handling a message exactly once, and dead-lettering the ones that cannot be handled.

`Inbox.handle_all` runs handlers inside a unit of work that also records each message's id for its
handler: a redelivered message finds its mark and is skipped. A handler that raises is retried a
bounded number of times with backoff; then the message goes to the dead-letter queue with its
error and is marked so that a redelivery is skipped too. Database and broker outages are not the
message's fault: the message goes back to its queue for later. Nor is coming early: a handler
raises `Early` for a message that arrived before one it builds on, and the message goes back to its
queue too, for a while.

It takes what a consumer has been delivered together: the batch is handled in one unit of work (one
multi-row inbox mark, each new message's handler in delivery order, one commit), so a backlog costs
one transaction per batch, not per message. A message whose handler fails rolls the batch back; the
ones before it are handled again together, it alone (its retries, its dead letter or its put-back as
above), and the ones after it as the next batch.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import tenacity

from .contracts import ContractError, Envelope, parse_envelope
from .metrics import BATCH_MESSAGES, HANDLER_SECONDS, MESSAGES_HANDLED
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


@dataclass(frozen=True)
class Delivery:
    """A message delivered to one handler: the handler's id (its inbox key), the message's body as
    it came, and the handler."""

    handler: str
    raw: Any
    fn: Handler


PUT_BACK = ("early", "retried")  # the outcomes of `handle_all` whose message goes back to its queue


class _FailedAt(Exception):
    """The handler of the batch's message `at` failed: the batch is rolled back."""

    def __init__(self, at: int):
        super().__init__(at)
        self.at = at


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

    def handle_all(self, deliveries: list[Delivery]) -> list[str]:
        """Handle a batch; returns each message's outcome in order: 'done', 'duplicate',
        'dead_lettered', or one of PUT_BACK: 'early' (it came before one it builds on) or 'retried'
        (the database or broker is away: this message and every one not yet handled)."""
        outcomes: list[str | None] = [None] * len(deliveries)
        BATCH_MESSAGES.labels(self.service).observe(len(deliveries))
        started = time.perf_counter()
        try:
            batch = []
            for at, delivery in enumerate(deliveries):
                try:
                    batch.append((at, delivery, parse_envelope(delivery.raw)))
                except ContractError:  # dead-lettered at once, as one by one
                    outcomes[at] = self._alone(delivery)
            self._handle_together(batch, outcomes)
        except RECOVERABLE:
            time.sleep(self.outage_pause_seconds)  # put back: do not spin on an outage
            outcomes = [outcome or "retried" for outcome in outcomes]
        seconds = (time.perf_counter() - started) / max(len(deliveries), 1)
        for delivery, outcome in zip(deliveries, outcomes):
            MESSAGES_HANDLED.labels(self.service, delivery.handler, outcome).inc()
            if outcome not in PUT_BACK:
                HANDLER_SECONDS.labels(self.service, delivery.handler).observe(seconds)
        return outcomes

    def _handle_together(self, batch: list[tuple[int, Delivery, Envelope]], outcomes: list) -> None:
        """One unit of work for the batch; on a handler's failure, the ones before it together, it
        alone, the ones after it together."""
        if not batch:
            return
        try:
            with self.unit_of_work() as uow:
                new = uow.mark_all_processed([(envelope, delivery.handler) for _, delivery, envelope in batch])
                done = []
                for position, (at, delivery, envelope) in enumerate(batch):
                    key = (envelope.id, delivery.handler)
                    if key not in new:
                        done.append((at, "duplicate"))
                        continue
                    new.discard(key)  # the same message twice in one batch: its second is a duplicate
                    try:
                        delivery.fn(uow, envelope)
                    except psycopg.errors.TransactionRollback as exc:  # a deadlock: this one alone, later
                        raise _FailedAt(position) from exc
                    except RECOVERABLE:
                        raise
                    except Exception as exc:  # noqa: BLE001 - its own retries and dead letter come alone
                        raise _FailedAt(position) from exc
                    done.append((at, "done"))
        except _FailedAt as failed:
            self._handle_together(batch[:failed.at], outcomes)
            at, delivery, _ = batch[failed.at]
            outcomes[at] = self._alone(delivery)
            self._handle_together(batch[failed.at + 1:], outcomes)
            return
        for at, outcome in done:
            outcomes[at] = outcome
        for _, delivery, envelope in batch:
            self._early.pop((delivery.handler, str(envelope.id)), None)

    def _alone(self, delivery: Delivery) -> str:
        try:
            return self._handle(delivery.handler, delivery.raw, delivery.fn)
        except Early:
            return "early"

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
