"""The unit of work: one transaction that commits state, outbox rows and the inbox mark together.

    with uow_factory() as uow:
        uow.execute("INSERT INTO cases ...", [...])
        uow.emit("ApplicationAccepted", case_number, {...})
    # committed: the relay is woken by NOTIFY and publishes the event

Leaving the block by an exception rolls everything back: nothing half-written, nothing emitted.

A unit of work opened while a gRPC call is doing an act (`CURRENT_ACT`, set by `grpcutil.rpc`)
records that act in its service's audit log as its last statement: the act and its entry commit
together, or neither (`services.auditlog`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from psycopg import Connection
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from . import auditlog
from .contracts import Envelope, new_envelope
from .timesource import SystemTime, TimeSource


def notify_channel(schema: str) -> str:
    return f"outbox_{schema}"


@dataclass
class Act:
    """The act a gRPC call is doing, to be recorded once: by the first unit of work that commits
    during the call, else by the call's end (a refusal, a read without a transaction)."""
    entry: auditlog.AuditEntry
    quiet: bool = False  # recorded only if refused (a list, the public lookup): no transaction records it
    recorded: bool = False

    def entry_for(self, emitted: list[Envelope]) -> auditlog.AuditEntry:
        """The entry, naming the case the transaction acted on when the request named none (a
        submission's case number is born in its transaction)."""
        case = next((e.case_number for e in emitted if e.case_number), None)
        return replace(self.entry, target=case) if case and not self.entry.target else self.entry

    def refused(self, result: str, detail: str = "") -> None:
        """The transaction commits a refusal (a wrong password counted): record it as such."""
        self.entry = replace(self.entry, result=result, detail=detail[:200])


CURRENT_ACT: ContextVar[Act | None] = ContextVar("onewindow_act", default=None)


class UnitOfWork:
    def __init__(self, conn: Connection, source: str, schema: str, time: TimeSource):
        self.conn = conn
        self.source = source
        self.schema = schema
        self.time = time
        self.emitted: list[Envelope] = []

    def execute(self, query: Any, params: Any = None):
        return self.conn.execute(query, params)

    def emit(self, event_type: str, case_number: str | None, payload: dict, version: int = 1) -> Envelope:
        envelope = new_envelope(self.source, event_type, case_number, payload, self.time.now(), version)
        row = [envelope.id, event_type, Jsonb(envelope.to_wire())]
        if self.emitted:
            self.conn.execute("INSERT INTO outbox (id, event_type, envelope) VALUES (%s, %s, %s)", row)
        else:  # the transaction's first: the same round trip wakes the relays at commit
            self.conn.execute("WITH written AS (INSERT INTO outbox (id, event_type, envelope) VALUES (%s, %s, %s)) "
                              "SELECT pg_notify(%s, '')", [*row, notify_channel(self.schema)])
        self.emitted.append(envelope)
        return envelope

    def mark_processed(self, envelope: Envelope, handler: str, outcome: str = "done",
                       error: str | None = None, attempts: int = 1) -> bool:
        """Record `envelope` in the inbox of `handler`; False if it already was (a redelivery).

        outcome 'done' goes with the handler's effect; 'dead_lettered' after the dead-letter queue
        confirmed it, so a redelivery is skipped either way.
        """
        row = self.conn.execute(
            "INSERT INTO inbox (message_id, handler, event_type, outcome, error, attempts) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
            [envelope.id, handler, envelope.type, outcome, error, attempts],
        ).fetchone()
        return row is not None

    def mark_all_processed(self, marks: list[tuple[Envelope, str]]) -> set[tuple[Any, str]]:
        """Record several (envelope, handler) pairs as done in one statement; returns the pairs
        (message id, handler) that were not recorded before (the others are redeliveries)."""
        rows = self.conn.execute(
            "INSERT INTO inbox (message_id, handler, event_type, outcome) "
            "SELECT m, h, t, 'done' FROM unnest(%b::uuid[], %b::text[], %b::text[]) AS marks (m, h, t) "
            "ON CONFLICT DO NOTHING RETURNING message_id, handler",
            [[e.id for e, _ in marks], [h for _, h in marks], [e.type for e, _ in marks]],
        ).fetchall()
        return set(rows)


class Reading:
    """What a read sees: `execute`, `conn` and `time`, on a connection without a transaction."""

    def __init__(self, conn: Connection, time: TimeSource):
        self.conn = conn
        self.time = time

    def execute(self, query: Any, params: Any = None):
        return self.conn.execute(query, params)


def reading_factory(pool: ConnectionPool, time: TimeSource | None = None) -> Callable[[], Iterator[Reading]]:
    """Reads of committed state without a transaction: no BEGIN and no COMMIT, two round trips fewer
    than a unit of work. Each statement sees the state as of its start; for a read of one statement
    (a watch's poll), or of several that need not agree. Nothing written, nothing audited."""
    time = time or SystemTime()

    @contextmanager
    def reading() -> Iterator[Reading]:
        with pool.connection() as conn:
            conn.autocommit = True
            try:
                yield Reading(conn, time)
            finally:
                if not conn.closed:
                    conn.autocommit = False  # the pool's next user gets what it expects

    return reading


def unit_of_work_factory(pool: ConnectionPool, source: str, schema: str,
                         time: TimeSource | None = None) -> Callable[[], Iterator[UnitOfWork]]:
    time = time or SystemTime()

    @contextmanager
    def unit_of_work() -> Iterator[UnitOfWork]:
        act = CURRENT_ACT.get()
        with pool.connection() as conn:
            with conn.transaction():
                uow = UnitOfWork(conn, source, schema, time)
                yield uow
                if act is not None and not act.recorded and not act.quiet:  # last: the head stays locked to commit
                    auditlog.append(conn, act.entry_for(uow.emitted), time.now())
            if act is not None and not act.quiet:
                act.recorded = True

    return unit_of_work
