"""Every service in one process, for the flow tests: the three gRPC APIs on in-process servers, and
in place of RabbitMQ a local bus that takes what each service's outbox relay publishes straight to
the inbox of every handler of that event, with `now` from a time source the tests move.

What runs is the services' own code: the same relays (`services.relay.OutboxRelay`), inboxes,
units of work, handler tables, use cases and timers' bodies as the OS processes run; only the
broker, nameko and the processes are left out. `drain()` moves events until every outbox is
published and nothing waits; `run_timers()` runs each bus process's timers once; with
`background=True` a thread does both continuously, as the bus processes would.
"""
from __future__ import annotations

import functools
import importlib
import logging
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import grpc

from hall.holders import holders
from hall.reference import load_reference
from identity_svc.keys import rotate
from services.access import write_tokens
from services.bus import Handler
from services.db import drop_database, ensure_database, migrate, open_pool, service_migrations
from services.inbox import PUT_BACK, Delivery, Inbox
from services.relay import Message, OutboxRelay
from services.timesource import SystemTime, TimeSource
from services.uow import unit_of_work_factory
from web_front.links import LINK_KEY

from .processes import SERVICES, WEB_FRONT, WEB_MIGRATIONS
from .settings import SystemSettings

log = logging.getLogger(__name__)
TIMER_PASSES = 25  # the background thread runs the timers every 25 passes of 20 ms


@dataclass
class _Consumer:
    inbox: Inbox
    handler: Handler
    use_cases: Any

    def take(self, body: dict) -> bool:
        """False if the message goes back (it came early, or the database was away)."""
        delivery = Delivery(self.handler.id, body, functools.partial(self.handler.handle, self.use_cases))
        return self.inbox.handle_all([delivery])[0] not in PUT_BACK


@dataclass
class LocalBus:
    """In place of the broker: a publish goes at once to every consumer of the event; a message
    that comes early waits and is offered again on the next pass; dead letters are kept."""

    consumers: dict[tuple[str, str], list[_Consumer]] = field(default_factory=lambda: defaultdict(list))
    waiting: list[tuple[_Consumer, dict]] = field(default_factory=list)
    dead_letters: list[tuple[dict, dict]] = field(default_factory=list)  # (body, headers)

    def publisher(self, source: str) -> _Publisher:
        return _Publisher(self, source)

    def deliver(self, source: str, body: dict) -> None:
        for consumer in self.consumers[(source, body["type"])]:
            self._offer(consumer, body)

    def _offer(self, consumer: _Consumer, body: dict) -> None:
        if not consumer.take(body):
            self.waiting.append((consumer, body))

    def retry_waiting(self) -> int:
        """Offer the early messages again; returns how many were taken."""
        waiting, self.waiting = self.waiting, []
        for consumer, body in waiting:
            self._offer(consumer, body)
        return len(waiting) - len(self.waiting)


@dataclass
class _Publisher:
    bus: LocalBus
    source: str

    def publish(self, body: dict, routing_key: str, message_id: str | None = None, headers: dict | None = None):
        if headers and "x-handler" in headers:  # the inbox's dead letters
            self.bus.dead_letters.append((body, headers))
        else:
            self.bus.deliver(self.source, body)

    def publish_all(self, messages: list[Message]) -> None:
        for m in messages:
            self.publish(m.body, m.routing_key, m.message_id, m.headers)

    def declare(self) -> None:
        pass


@dataclass
class _Service:
    pool: Any
    unit_of_work: Any
    use_cases: Any
    relay: OutboxRelay
    timers: tuple


class InProcessHall:
    """Use as a context manager: a database of its own (recreated, unless `fresh=False`), the schemas
    migrated, the tokens file written, the APIs listening on the settings' ports."""

    def __init__(self, settings: SystemSettings, time: TimeSource | None = None, background: bool = True,
                 fresh: bool = True):
        self.settings = settings
        self.fresh = fresh  # False: the database exists (a copy of a migrated one, say); its migrations still run
        self.time = time or SystemTime()
        self.background = background
        self.bus = LocalBus()
        self.services: dict[str, _Service] = {}
        self._apis: list[tuple[grpc.Server, Any]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one drain at a time: the thread's and a test's

    def __enter__(self) -> InProcessHall:
        settings = self.settings
        reference = load_reference(settings)
        if self.fresh:
            drop_database(settings.database_url)
        ensure_database(settings.database_url)
        write_tokens(settings.desk_tokens, holders(reference.org))
        if not settings.signing_keys.exists():
            rotate(settings.signing_keys)
        write_tokens(settings.web_secret, [LINK_KEY])  # the web front's pages run on this hall too
        sink = self.bus.publisher("dead-letters")
        try:
            for service in SERVICES:
                migrate(settings.database_url, service.name, service_migrations(service.package))
                if service.bus:
                    self._start_bus_side(service, sink)
            migrate(settings.database_url, WEB_FRONT, [WEB_MIGRATIONS])
            for service in sorted(SERVICES, key=lambda s: s.name != "identity"):  # every API asks identity
                if service.api:
                    self._serve(service.api)
            if self.background:
                self._thread = threading.Thread(target=self._run, name="inprocess-bus", daemon=True)
                self._thread.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start_bus_side(self, service, sink) -> None:
        settings = self.settings
        module = service.bus_module()
        pool = open_pool(settings.database_url, service.name, 4, name=f"{service.name}-inprocess")
        unit_of_work = unit_of_work_factory(pool, service.name, service.name, self.time)
        inbox = Inbox(unit_of_work, service.name, sink, attempts=settings.dead_letter_after,
                      backoff_seconds=0.0, outage_pause_seconds=0.1)
        relay = OutboxRelay(pool, settings.database_url, service.name, service.name,
                            self.bus.publisher(service.name), settings.relay_batch)
        use_cases = module.use_cases(settings)
        self.services[service.name] = _Service(pool, unit_of_work, use_cases, relay, module.TIMERS)
        for handler in module.HANDLERS:
            self.bus.consumers[(handler.source, handler.event)].append(_Consumer(inbox, handler, use_cases))

    def _serve(self, api_module: str) -> None:
        module = importlib.import_module(api_module)
        server = grpc.server(ThreadPoolExecutor(16, thread_name_prefix="inprocess-grpc"))
        wiring = module.build(self.settings, server, self.time)
        server.add_insecure_port(f"127.0.0.1:{getattr(self.settings, module.PORT_SETTING)}")
        server.start()
        self._apis.append((server, wiring))

    def drain(self) -> int:
        """Move events until every outbox is published and no early message can be taken; returns
        how many were moved."""
        moved = 0
        with self._lock:
            while True:
                step = sum(s.relay.publish_pending() for s in self.services.values()) + self.bus.retry_waiting()
                if not step:
                    return moved
                moved += step

    def run_timers(self) -> None:
        """Each bus process's timers once (warnings due, notices due, suspensions ended), then drain."""
        with self._lock:
            for service in self.services.values():
                for timer in service.timers:
                    timer(service.use_cases, service.unit_of_work)
        self.drain()

    def _run(self) -> None:
        passes = 0
        while not self._stop.wait(0.02):
            passes += 1
            try:
                if passes % TIMER_PASSES == 0:
                    self.run_timers()
                else:
                    self.drain()
            except Exception:  # noqa: BLE001 - a bus thread lives on, as a bus process would
                log.exception("in-process bus: a pass failed")

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for server, wiring in self._apis:
            wiring.close()
            server.stop(grace=None)
        for service in self.services.values():
            service.pool.close()
