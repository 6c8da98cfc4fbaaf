"""nameko glue: the `Kernel` dependency (pool, unit of work, inbox, outbox relay, batcher, the
service's use cases) and `subscribe`, which turns a service's handler table into nameko event
entrypoints whose messages the batcher handles.

    def use_cases(settings: RoutingSettings) -> Routing:
        return Routing(load_reference(settings), settings.transfer_limit_days)

    HANDLERS = (
        Handler("intake", "ApplicationAccepted", "route_case", Routing.route),
    )

    @subscribe(HANDLERS)
    class RoutingService:
        name = "routing"
        kernel = Kernel(use_cases, RoutingSettings)

A row's `id` is stable: it names the handler's durable queue
(`evt-<source>-<event>--<service>.<id>`) and its inbox key, whatever the Python function is called.
The handler runs `handle(use_cases, uow, envelope)` inside a unit of work with the inbox mark: its
writes and `uow.emit(...)` commit together or not at all (with those of the other messages of its
batch, `Inbox.handle_all`). Everything nameko-specific stays in this module and in `service.py`
files.
"""
from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import amqp.exceptions
import eventlet
import eventlet.event
import eventlet.queue
import psycopg
from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from .config import Settings, load_settings
from .db import open_pool
from .housekeeping import prune
from .inbox import Delivery, Inbox
from .relay import OutboxRelay, Publisher, queue_arguments
from .timesource import SystemTime
from .uow import unit_of_work_factory

log = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 3600
CONSUMER_WATCH_SECONDS = 2.0
CONSUMER_STUCK_SECONDS = 10.0  # longer than a reconnection to another node takes


@dataclass(frozen=True)
class Handler:
    """One row of a service's handler table: the event `event` of service `source` is handled by
    `handle(use_cases, uow, envelope)`; `id` names the queue and the inbox key and never changes."""

    source: str
    event: str
    id: str
    handle: Callable[[Any, Any, Any], None]


class KernelAccess:
    """What a service method sees as `self.kernel`."""

    def __init__(self, unit_of_work, inbox: Inbox, time, use_cases):
        self.unit_of_work = unit_of_work
        self.inbox = inbox
        self.time = time
        self.use_cases = use_cases  # the service's rules, built once from the checked settings
        self.stopping = False  # set on stop: loops in timers end after their current batch


class Kernel(DependencyProvider):
    def __init__(self, use_cases: Callable[[Any], Any], settings: type[Settings] = Settings, time=None):
        self.build_use_cases = use_cases  # settings -> the service's use cases (reads catalogue, calendar)
        self.settings_class = settings
        self.time = time or SystemTime()

    def setup(self) -> None:
        self.settings = load_settings(self.settings_class)
        self.service = self.container.service_name
        self.pool = open_pool(self.settings.database_url, self.service, self.settings.db_pool_size,
                              name=f"{self.service}-bus")
        unit_of_work = unit_of_work_factory(self.pool, self.service, self.service, self.time)
        self.inbox = Inbox(unit_of_work, self.service,
                           Publisher.for_dead_letters(self.settings.amqp_url, self.settings.queue_type),
                           attempts=self.settings.dead_letter_after)
        self.relay = OutboxRelay(self.pool, self.settings.database_url, self.service, self.service,
                                 Publisher.for_events(self.settings.amqp_url, self.service),
                                 self.settings.relay_batch, self.settings.relay_poll_seconds)
        # built before any entrypoint starts: reading the catalogue and calendar is not a handler's time
        self.access = KernelAccess(unit_of_work, self.inbox, self.time, self.build_use_cases(self.settings))
        self.batcher = _Batcher(self.inbox, self.settings.batch_size)

    def start(self) -> None:
        self.inbox.dead_letters.declare()  # the dead-letter queue exists before anything dies
        self.container.spawn_managed_thread(self.relay.run, identifier=f"{self.service}.outbox-relay")
        self.container.spawn_managed_thread(self.batcher.run, identifier=f"{self.service}.batcher")
        self.container.spawn_managed_thread(self._housekeeping, identifier=f"{self.service}.housekeeping")
        self.container.spawn_managed_thread(self._watch_consumer, identifier=f"{self.service}.consumer-watch")

    def _watch_consumer(self) -> None:
        """Wake the queue consumer if it waits on a connection that is gone.

        Seen under load when a RabbitMQ node stops (`onewindow chaos --fault rabbitmq-leader`): a
        handler's ack fails on the dropped connection, and the consumer goes on waiting in a read
        that never ends, so the process takes no more messages while /readyz stays ok. A
        connection error thrown into that read takes it the way of every lost connection:
        kombu reconnects (to the next node of ONEWINDOW_AMQP_URL) and consumes again.
        """
        from nameko.messaging import QueueConsumer

        consumer = next((e for e in self.container.extensions if isinstance(e, QueueConsumer)), None)
        if consumer is None:
            return
        gone_since = None
        while True:
            time.sleep(CONSUMER_WATCH_SECONDS)
            try:  # the watch must never be what stops the process (an error here would end the container)
                gone_since = self._check_consumer(consumer, gone_since)
            except Exception:  # noqa: BLE001 - logged, and the next round tries again
                log.exception("%s: the consumer watch failed", self.service)
                gone_since = None

    def _check_consumer(self, consumer, gone_since: float | None) -> float | None:
        channels = [c.channel for c in list(consumer._consumers.values())]
        if not channels or all(ch is not None and ch.connection is not None and ch.connection.connected
                               for ch in channels):
            return None
        thread = consumer._gt
        if thread is None or thread.dead or not _reading(thread):
            return None  # reconnecting (kombu's own retries, with their backoff): not stuck
        gone_since = gone_since or time.monotonic()
        if time.monotonic() - gone_since < CONSUMER_STUCK_SECONDS:
            return gone_since
        log.warning("%s: the queue consumer has waited %.0fs on a connection that is gone: waking it to reconnect",
                    self.service, time.monotonic() - gone_since)
        _throw(thread, ConnectionResetError("the consumer's connection is gone (consumer watch)"))
        return None

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


def _reading(thread) -> bool:
    """Whether a green thread waits in a read of messages (kombu's drain_events), not in a
    reconnection (whose retries are kombu's to end)."""
    names, frame = set(), thread.gr_frame
    while frame is not None:
        names.add(frame.f_code.co_name)
        frame = frame.f_back
    return "drain_events" in names and not names & {"ensure_connection", "_ensure_connection", "establish_connection"}


def _throw(thread, exc: BaseException) -> None:
    """Raise `exc` in a waiting green thread, and come back here once it waits again (eventlet's
    own kill does the same)."""
    import greenlet
    from eventlet import hubs

    hubs.get_hub().schedule_call_global(0, greenlet.getcurrent().switch)
    thread.throw(exc)


QUEUE_TYPE_CONFIG_KEY = "ONEWINDOW_QUEUE_TYPE"  # the nameko config key busrun sets from the settings


class _Batcher:
    """Handles what the service's queue consumer is delivered, a batch at a time
    (`Inbox.handle_all`: one transaction per batch), in one green thread.

    nameko's consumer keeps taking messages (each handler's queue, `prefetch` unacknowledged each)
    while a batch is being handled; the next batch is everything that came meanwhile, up to `size`.
    One message waiting is handled at once, alone: batches form only under a backlog, where they save
    the most. After the commit each message is acknowledged, or put back: an early one after
    a pause (without holding up the rest), one the outage stopped at once (the inbox paused already).
    """

    def __init__(self, inbox: Inbox, size: int):
        self.inbox = inbox
        self.size = size
        self.waiting = eventlet.queue.LightQueue()
        self.stopped = eventlet.event.Event()  # sent when the thread has ended
        self.stopping = False

    def put(self, entrypoint: _EventHandler, delivery: Delivery, message) -> None:
        if self.stopping:
            entrypoint.put_back(message)
        else:
            self.waiting.put((entrypoint, delivery, message))

    def run(self) -> None:
        try:
            while True:
                batch = [self.waiting.get()]
                if batch[0] is None:
                    break
                while len(batch) < self.size and self.waiting.qsize():
                    batch.append(self.waiting.get())
                stop = batch[-1] is None
                batch = [item for item in batch if item is not None]
                try:
                    outcomes = self.inbox.handle_all([delivery for _, delivery, _ in batch])
                except Exception:  # noqa: BLE001 - a fault of ours, not the messages': they come again
                    log.exception("%s: a batch of %d failed unexpectedly: put back", self.inbox.service, len(batch))
                    time.sleep(self.inbox.outage_pause_seconds)
                    outcomes = ["retried"] * len(batch)
                for (entrypoint, _, message), outcome in zip(batch, outcomes):
                    if outcome == "early":
                        eventlet.spawn_after(self.inbox.early_pause_seconds, entrypoint.put_back, message)
                    elif outcome == "retried":
                        entrypoint.put_back(message)
                    else:
                        entrypoint.acknowledge(message)
                if stop:
                    break
        finally:
            self.stopped.send(None)

    def stop(self) -> None:
        """Finish the batch in hand, put back every message still waiting, and end the thread
        (idempotent: every entrypoint calls it at its stop)."""
        if not self.stopping:
            self.stopping = True
            waiting = []
            while self.waiting.qsize():
                waiting.append(self.waiting.get())
            for entrypoint, _, message in filter(None, waiting):
                entrypoint.put_back(message)
            self.waiting.put(None)
        self.stopped.wait()


class _EventHandler(EventHandler):
    """nameko's event handler, except that a delivered message goes to the service's batcher (the
    Kernel's) rather than to a worker of its own, and that acknowledging a message on a connection
    the broker has dropped does not kill the service.

    nameko ignores amqp's ConnectionError at the ack but not the socket's own errors (reset,
    broken pipe): a handler finishing while the broker restarts killed the whole container, and
    the process stopped consuming. The message, unacknowledged, is delivered again on the new
    connection, and the inbox skips it if the handler's effect was committed.
    """

    def setup(self):
        super().setup()  # nameko names the queue; it is declared at the consumer's start, with these arguments
        self.queue.queue_arguments = queue_arguments(self.container.config.get(QUEUE_TYPE_CONFIG_KEY, "classic"))
        self.kernel = next(d for d in self.container.dependencies if isinstance(d, Kernel))
        self.handler = next(h for h in self.container.service_cls.HANDLERS if h.id == self.method_name)

    def start(self):
        self.handle = functools.partial(self.handler.handle, self.kernel.access.use_cases)
        super().start()

    def handle_message(self, body, message):
        self.kernel.batcher.put(self, Delivery(self.handler.id, body, self.handle), message)

    def stop(self):
        self.kernel.batcher.stop()  # what it holds is acknowledged or put back while the connection is up
        super().stop()

    def acknowledge(self, message) -> None:
        self._settle(self.queue_consumer.ack_message, message)

    def put_back(self, message) -> None:
        self._settle(self.queue_consumer.requeue_message, message)

    def _settle(self, settle, message) -> None:
        try:
            settle(message)
        except (OSError, amqp.exceptions.AMQPError) as exc:
            log.warning("%s: message not acknowledged, the connection is gone (%r): it will come again",
                        self.method_name, exc)


def subscribe(handlers: tuple[Handler, ...]):
    """Class decorator: one nameko event entrypoint per row of the handler table, named by its id;
    the messages of them all go to the service's batcher.

    A message that came early goes back to its queue for a while, and so does every message an
    infrastructure outage stopped; handler errors are retried, then dead-lettered.
    """
    ids = [h.id for h in handlers]
    if len(set(ids)) != len(ids):
        raise ValueError(f"handler ids must be unique: {ids}")

    def decorate(cls):
        cls.HANDLERS = handlers
        for handler in handlers:
            setattr(cls, handler.id, _entrypoint(handler))
        return cls

    return decorate


def _entrypoint(handler: Handler):
    def entry(self, raw):
        raise RuntimeError(f"{handler.id}: the service's batcher handles this queue's messages, not a worker")

    entry.__name__ = entry.__qualname__ = handler.id
    return _EventHandler.decorator(handler.source, handler.event)(entry)


class _SettingTimer(Timer):
    """nameko's timer, its interval the service's setting of that name, taken from the settings the
    Kernel read (never at import, never a second read of the environment)."""

    def __init__(self, setting: str, **kwargs):
        super().__init__(interval=None, **kwargs)
        self.setting = setting

    def start(self) -> None:  # every extension's setup is done: the Kernel holds the settings
        kernel = next(d for d in self.container.dependencies if isinstance(d, Kernel))
        self.interval = getattr(kernel.settings, self.setting)
        super().start()


def every(setting: str):
    """A timer entrypoint that fires every `setting` seconds (a service setting)."""
    return _SettingTimer.decorator(setting)


def queue_name(service_name: str, handler: Handler) -> str:
    """The durable queue of a handler, as nameko names it."""
    return f"evt-{handler.source}-{handler.event}--{service_name}.{handler.id}"


def _handler_queue(service_name: str, handler: Handler, queue_type: str):
    """The queue of a handler, exactly as nameko will declare it."""
    import kombu
    from nameko.standalone.events import get_event_exchange

    return kombu.Queue(queue_name(service_name, handler), exchange=get_event_exchange(handler.source, {}),
                       routing_key=handler.event, durable=True, auto_delete=False, exclusive=False,
                       queue_arguments=queue_arguments(queue_type))


def declare_queues(amqp_url: str, service_name: str, service_cls, purge: bool = False,
                   queue_type: str = "classic") -> list[str]:
    """Declare the queue of every handler of a service, exactly as nameko will.

    Run before any process starts (by `migrate`): an event published before its consumer's queue
    exists would be dropped by the exchange.
    """
    import kombu

    names = []
    with kombu.Connection(amqp_url) as conn:
        channel = conn.channel()
        for handler in service_cls.HANDLERS:
            bound = _handler_queue(service_name, handler, queue_type)(channel)
            bound.declare()
            if purge:  # a scratch run: messages of an earlier database mean nothing now
                bound.purge()
            names.append(bound.name)
    return names


def consumed_queues(amqp_url: str, service_name: str, service_cls, queue_type: str = "classic") -> dict[str, int]:
    """The service's handler queues that something consumes now, with their consumer counts
    (declared as nameko will, so a queue not there yet is made and counts none)."""
    import kombu

    found = {}
    with kombu.Connection(amqp_url) as conn:
        channel = conn.channel()
        for handler in service_cls.HANDLERS:
            name, _, consumers = _handler_queue(service_name, handler, queue_type)(channel).queue_declare()
            if consumers:
                found[name] = consumers
    return found
