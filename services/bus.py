"""nameko glue: the `Kernel` dependency (pool, unit of work, inbox, outbox relay) and `on_event`.

    class RoutingService:
        name = "routing"
        kernel = Kernel()

        @on_event("intake", "ApplicationAccepted")
        def plan_case(self, uow, envelope): ...

The handler runs inside a unit of work with the inbox mark: its writes and `uow.emit(...)` commit
together or not at all. Everything nameko-specific stays in this module and in `service.py` files.
"""
from __future__ import annotations

import functools
import logging
import time

import amqp.exceptions
import psycopg
from nameko.events import EventHandler
from nameko.extensions import DependencyProvider

from .clock import SystemTime
from .config import Settings
from .db import open_pool
from .housekeeping import prune
from .inbox import Early, Inbox
from .relay import RECOVERABLE, OutboxRelay, Publisher
from .uow import unit_of_work_factory

log = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 3600


class KernelAccess:
    """What a service method sees as `self.kernel`."""

    def __init__(self, unit_of_work, inbox: Inbox, time):
        self.unit_of_work = unit_of_work
        self.inbox = inbox
        self.time = time
        self.stopping = False  # set on stop: loops in timers end after their current batch


class Kernel(DependencyProvider):
    def __init__(self, time=None, warm=None):
        self.time = time or SystemTime()
        self.warm = warm  # loads what the handlers need (catalogue, calendar) before the first message

    def setup(self) -> None:
        self.settings = Settings()
        self.service = self.container.service_name
        self.pool = open_pool(self.settings.database_url, self.service, self.settings.db_pool_size,
                              name=f"{self.service}-bus")
        unit_of_work = unit_of_work_factory(self.pool, self.service, self.service, self.time)
        self.inbox = Inbox(unit_of_work, self.service, Publisher.for_dead_letters(self.settings.amqp_url),
                           attempts=self.settings.dead_letter_after)
        self.relay = OutboxRelay(self.pool, self.settings.database_url, self.service, self.service,
                                 Publisher.for_events(self.settings.amqp_url, self.service),
                                 self.settings.relay_batch, self.settings.relay_poll_seconds)
        self.access = KernelAccess(unit_of_work, self.inbox, self.time)

    def start(self) -> None:
        if self.warm:
            self.warm()
        self.inbox.dead_letters.declare()  # the dead-letter queue exists before anything dies
        self.container.spawn_managed_thread(self.relay.run, identifier=f"{self.service}.outbox-relay")
        self.container.spawn_managed_thread(self._housekeeping, identifier=f"{self.service}.housekeeping")

    def _housekeeping(self) -> None:
        """Prune the outbox and inbox now and every hour; nameko ends this thread at stop."""
        while True:
            try:
                deleted = prune(self.pool, self.settings.retention_days)
                if any(deleted.values()):
                    log.info("%s: housekeeping deleted %s", self.service, deleted)
            except psycopg.Error as exc:  # the database away: the next round tries again
                log.warning("%s: housekeeping failed: %s", self.service, exc)
            time.sleep(HOUSEKEEPING_SECONDS)

    def stop(self) -> None:
        self.access.stopping = True
        self.relay.stop()

    def kill(self) -> None:
        self.relay.stop()

    def get_dependency(self, worker_ctx) -> KernelAccess:
        return self.access


PUT_BACK = "put_back"  # what an entry returns for its message to go back to the queue


class _EventHandler(EventHandler):
    """nameko's event handler, except that acknowledging a message on a connection the broker has
    dropped does not kill the service, and that an entry returning PUT_BACK requeues its message
    (an early message: no error, so nameko does not log it as one).

    nameko ignores amqp's ConnectionError at the ack but not the socket's own errors (reset,
    broken pipe): a handler finishing while the broker restarts killed the whole container, and
    the process stopped consuming. The message, unacknowledged, is delivered again on the new
    connection, and the inbox skips it if the handler's effect was committed.
    """

    def handle_message_processed(self, message, result=None, exc_info=None):
        try:
            if exc_info is None and result == PUT_BACK:
                self.queue_consumer.requeue_message(message)
            else:
                super().handle_message_processed(message, result, exc_info)
        except (OSError, amqp.exceptions.AMQPError) as exc:
            log.warning("%s: message not acknowledged, the connection is gone (%r): it will come again",
                        self.method_name, exc)


def on_event(source_service: str, event_type: str):
    """An event handler that runs exactly once per message, dead-lettering what keeps failing.

    The decorated method takes `(self, uow, envelope)`. Infrastructure outages requeue the message
    (nameko's requeue_on_error; logged as expected), and so does a message that came early;
    handler errors are retried, then dead-lettered.
    """

    def decorate(method):
        @functools.wraps(method)
        def entry(self, raw):
            try:
                return self.kernel.inbox.handle(method.__name__, raw, functools.partial(method, self))
            except Early:
                return PUT_BACK

        entry.subscription = (source_service, event_type)
        return _EventHandler.decorator(source_service, event_type, requeue_on_error=True,
                                       expected_exceptions=RECOVERABLE)(entry)

    return decorate


def declare_queues(amqp_url: str, service_name: str, service_cls, purge: bool = False) -> list[str]:
    """Declare the queue of every `on_event` handler of a service, exactly as nameko will.

    Run before any process starts (by `migrate`): an event published before its consumer's queue
    exists would be dropped by the exchange.
    """
    import kombu
    from nameko.standalone.events import get_event_exchange

    names = []
    with kombu.Connection(amqp_url) as conn:
        channel = conn.channel()
        for method_name, attr in vars(service_cls).items():
            if not hasattr(attr, "subscription"):
                continue
            source, event_type = attr.subscription
            name = f"evt-{source}-{event_type}--{service_name}.{method_name}"
            queue = kombu.Queue(name, exchange=get_event_exchange(source, {}), routing_key=event_type,
                                durable=True, auto_delete=False, exclusive=False)
            bound = queue(channel)
            bound.declare()
            if purge:  # a scratch run: messages of an earlier database mean nothing now
                bound.purge()
            names.append(name)
    return names
