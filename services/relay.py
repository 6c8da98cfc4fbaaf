"""The outbox relay: publishes committed outbox rows to RabbitMQ with publisher confirms.

Woken by LISTEN/NOTIFY when a unit of work emits, with a polling fallback. Rows are taken with
`FOR UPDATE SKIP LOCKED`, so several relays of one service share the work; a row is marked
published only after the broker confirmed it, in the same transaction that locked it. A crash
between publish and mark publishes that row again on restart: consumers' inboxes drop the copy.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import amqp.exceptions
import kombu
import kombu.exceptions
import psycopg
from amqp import spec
from nameko.standalone.events import get_event_exchange
from psycopg_pool import ConnectionPool

from .metrics import OUTBOX_LAG, OUTBOX_PUBLISHED, OUTBOX_UNPUBLISHED
from .uow import notify_channel

log = logging.getLogger(__name__)
# After a wake, let the commits of the next few milliseconds join the batch: one transaction and
# one round of confirms for many events instead of one each (fewer wakes under load).
LINGER_SECONDS = 0.003
CONFIRM_TIMEOUT_SECONDS = 30.0

DEAD_LETTER_EXCHANGE = "onewindow.dead-letter"
DEAD_LETTER_QUEUE = "onewindow.dead-letters"
# An outage of the database or the broker. A nack too: a quorum queue without a leader (its node
# just lost, the next not yet elected) refuses the message, which is published again.
RECOVERABLE = (psycopg.OperationalError, kombu.exceptions.OperationalError, amqp.exceptions.AMQPError, OSError,
               amqp.exceptions.MessageNacked)


@dataclass(frozen=True)
class Message:
    """One message of a batch (`Publisher.publish_all`)."""

    body: dict
    routing_key: str
    message_id: str | None = None
    headers: dict | None = None


def queue_arguments(queue_type: str) -> dict[str, str]:
    """The declaration arguments of a queue of `queue_type` (a setting). Classic queues are declared
    without any, as they always were: a queue is redeclared only with the arguments it was made with."""
    return {"x-queue-type": queue_type} if queue_type != "classic" else {}


class Publisher:
    """A confirmed, persistent publisher to one exchange, reconnecting after a failure.

    Messages go out as a batch and the broker's confirms of the whole batch are awaited once
    (a confirm may acknowledge several messages): one wait per batch, not one per message.
    """

    def __init__(self, amqp_url: str, exchange: kombu.Exchange, queue: kombu.Queue | None = None,
                 confirm_timeout: float = CONFIRM_TIMEOUT_SECONDS):
        self.exchange = exchange
        self.queue = queue  # declared and bound with the exchange, for a destination that must exist
        self.confirm_timeout = confirm_timeout
        self._url = amqp_url
        self._conn: kombu.Connection | None = None
        self._producer: kombu.Producer | None = None
        self._sent = 0  # delivery tags the broker gave this channel's messages: 1, 2, ...
        self._confirmed = 0  # every tag up to this one confirmed
        self._acks: set[int] = set()  # confirmed singly, beyond `_confirmed`
        self._nacked = False
        # One connection, many callers (every handler of a process dead-letters through one
        # publisher): a publish waits for its confirm, and two waits on one socket are refused.
        self._lock = threading.Lock()

    @classmethod
    def for_events(cls, amqp_url: str, service: str) -> Publisher:
        """To `<service>.events`, declared exactly as nameko declares it."""
        return cls(amqp_url, get_event_exchange(service, {}))

    @classmethod
    def for_dead_letters(cls, amqp_url: str, queue_type: str = "classic") -> Publisher:
        exchange = kombu.Exchange(DEAD_LETTER_EXCHANGE, type="fanout", durable=True)
        return cls(amqp_url, exchange, kombu.Queue(DEAD_LETTER_QUEUE, exchange, durable=True,
                                                   queue_arguments=queue_arguments(queue_type)))

    def declare(self) -> None:
        """Declare the exchange (and queue) now, so that they exist before the first publish."""
        with self._lock:
            self._ready()

    def _ready(self) -> kombu.Producer:
        if self._producer is None:
            self._conn = kombu.Connection(self._url, connect_timeout=5)
            channel = self._conn.channel()
            self.exchange(channel).declare()
            if self.queue is not None:
                self.queue(channel).declare()
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            self._sent = self._confirmed = 0
            self._acks.clear()
            self._nacked = False
            self._producer = kombu.Producer(channel, self.exchange)
        return self._producer

    def _on_ack(self, tag: int, multiple: bool) -> None:
        if multiple:
            self._confirmed = max(self._confirmed, tag)
        else:
            self._acks.add(tag)
        while self._confirmed + 1 in self._acks:
            self._confirmed += 1
            self._acks.discard(self._confirmed)

    def _on_nack(self, tag: int, multiple: bool) -> None:
        self._nacked = True

    def publish(self, body: dict, routing_key: str, message_id: str | None = None,
                headers: dict | None = None) -> None:
        """Returns once the broker has confirmed the message; raises (and resets) otherwise."""
        self.publish_all([Message(body, routing_key, message_id, headers)])

    def publish_all(self, messages: list[Message]) -> None:
        """Returns once the broker has confirmed every message; raises (and resets) otherwise: a
        nack, a timeout or a lost connection, and the caller publishes them all again.

        A connection that has been idle may have died with a broker restart unnoticed: a batch
        failing on a connection opened earlier is tried once more on a new one.
        """
        with self._lock:
            for _ in range(2):
                fresh = self._producer is None
                try:
                    self._publish_confirmed(messages)
                    return
                except Exception:
                    self._close()
                    if fresh:
                        raise

    def _publish_confirmed(self, messages: list[Message]) -> None:
        producer = self._ready()
        for m in messages:
            producer.publish(m.body, routing_key=m.routing_key, serializer="json", delivery_mode=2,
                             message_id=m.message_id, headers=m.headers or {}, retry=False)
            self._sent += 1
        deadline = time.monotonic() + self.confirm_timeout
        while self._confirmed < self._sent and not self._nacked:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the broker confirmed {self._confirmed} of {self._sent} messages "
                                   f"in {self.confirm_timeout:.0f}s")
            producer.channel.wait([spec.Basic.Ack, spec.Basic.Nack], timeout=left)
        if self._nacked:
            raise amqp.exceptions.MessageNacked("the broker refused a message of the batch")

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        conn, self._conn, self._producer = self._conn, None, None
        if conn is not None:
            try:
                conn.release()
            except Exception:  # closing a broken connection may fail again; it is dropped either way
                pass


class OutboxRelay:
    def __init__(self, pool: ConnectionPool, conninfo: str, service: str, schema: str,
                 publisher: Publisher, batch: int = 200, poll_seconds: float = 1.0):
        self.pool = pool
        self.conninfo = conninfo
        self.service = service
        self.schema = schema
        self.publisher = publisher
        self.batch = batch
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()

    def publish_pending(self) -> int:
        """Publish one batch; returns how many rows it published."""
        with self.pool.connection() as conn, conn.transaction():
            rows = conn.execute(
                "SELECT seq, envelope, created_at FROM outbox WHERE published_at IS NULL "
                "ORDER BY seq LIMIT %s FOR UPDATE SKIP LOCKED",
                [self.batch],
            ).fetchall()
            if not rows:
                return 0
            self.publisher.publish_all([Message(envelope, envelope["type"], envelope["id"]) for _, envelope, _ in rows])
            conn.execute("UPDATE outbox SET published_at = now() WHERE seq = ANY(%s)", [[r[0] for r in rows]])
        OUTBOX_PUBLISHED.labels(self.service).inc(len(rows))
        OUTBOX_LAG.labels(self.service).observe(max(0.0, time.time() - rows[0][2].timestamp()))
        return len(rows)

    def unpublished(self) -> int:
        with self.pool.connection() as conn:
            return conn.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0]

    def stop(self) -> None:
        """Stop after the current batch; a NOTIFY wakes the relay if it is waiting for one."""
        self._stop.set()
        try:
            with self.pool.connection(timeout=2) as conn:
                conn.execute("SELECT pg_notify(%s, 'stop')", [notify_channel(self.schema)])
        except Exception:  # no database: the relay is in its backoff wait, which the event ends
            pass

    def _drop_broken_connections(self) -> None:
        """After a database restart every idle connection of the pool is dead: without this the
        relay would meet them one by one, each failure lengthening its backoff."""
        try:
            self.pool.check()
        except Exception:  # the database still away: the pool reconnects by itself
            pass

    def run(self) -> None:
        """Publish until stopped, surviving database and broker outages."""
        backoff = 0.1
        gauge_due = 0.0
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True,
                                     application_name=f"{self.service}-relay") as listener:
                    listener.execute(f'LISTEN "{notify_channel(self.schema)}"')
                    while not self._stop.is_set():
                        while self.publish_pending() == self.batch and not self._stop.is_set():
                            pass
                        if time.monotonic() >= gauge_due:  # a count per wake would cost more than the publish
                            OUTBOX_UNPUBLISHED.labels(self.service).set(self.unpublished())
                            gauge_due = time.monotonic() + 1.0
                        backoff = 0.1
                        # Wait for a NOTIFY of a commit; the timeout is the polling fallback.
                        for _ in listener.notifies(timeout=self.poll_seconds, stop_after=1):
                            self._stop.wait(LINGER_SECONDS)
            except Exception as exc:  # the relay must outlive every outage; unknown errors are logged loudly
                self.publisher.close()
                if isinstance(exc, psycopg.OperationalError):
                    self._drop_broken_connections()
                log.log(logging.WARNING if isinstance(exc, RECOVERABLE) else logging.ERROR,
                        "outbox relay of %s: %r; retrying in %.1fs", self.service, exc, backoff,
                        exc_info=not isinstance(exc, RECOVERABLE))
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
        self.publisher.close()
