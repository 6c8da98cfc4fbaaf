"""The store on the real PostgreSQL and the relay on the real RabbitMQ, in this process."""
from __future__ import annotations

import threading
import uuid

import amqp.exceptions
import kombu
import psycopg
import pytest

from services.contracts import ContractError
from services.db import KERNEL_MIGRATIONS, migrate, open_pool
from services.relay import Message, OutboxRelay, Publisher
from services.uow import reading_factory, unit_of_work_factory
from tests import ledger_service  # noqa: F401  (registers the test event)
from tests.support import wait_until
from tooling.sandbox import PrivateRabbit


@pytest.fixture
def pool(database_url, schema):
    pool = open_pool(database_url, schema, max_size=4)
    yield pool
    pool.close()


@pytest.fixture
def uow(pool, schema):
    return unit_of_work_factory(pool, "ledger", schema)


def outbox_rows(pool) -> list[tuple]:
    with pool.connection() as conn:
        return conn.execute("SELECT id, published_at FROM outbox ORDER BY seq").fetchall()


def test_migrations_apply_once_and_are_recorded(database_url):
    name = f"m_{uuid.uuid4().hex[:8]}"
    first = migrate(database_url, name, [KERNEL_MIGRATIONS])
    assert first == ["0000_kernel_outbox_inbox", "0001_audit_log"]
    assert migrate(database_url, name, [KERNEL_MIGRATIONS]) == []
    with psycopg.connect(database_url) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [name])}
        conn.execute(f'DROP SCHEMA "{name}" CASCADE')
    assert {"outbox", "inbox", "audit_log", "audit_head"} <= tables


def test_state_and_events_commit_together_or_not_at_all(pool, uow):
    with uow() as work:
        work.emit("EntryPosted", "C-1", {"amount": 1})
    with pytest.raises(RuntimeError):
        with uow() as work:
            work.emit("EntryPosted", "C-2", {"amount": 2})
            raise RuntimeError("the rule failed after emitting")
    assert len(outbox_rows(pool)) == 1


def test_a_read_opens_no_transaction_and_hands_the_connection_back_as_it_was(database_url, schema):
    single = open_pool(database_url, schema, max_size=1)  # one connection: the read's and the next user's
    try:
        with reading_factory(single)() as read:
            assert read.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
            assert read.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE  # nothing left open
        with unit_of_work_factory(single, "ledger", schema)() as work:
            assert not work.conn.autocommit
            work.emit("EntryPosted", "C-1", {"amount": 1})
        assert len(outbox_rows(single)) == 1
    finally:
        single.close()


def test_an_event_that_breaks_its_contract_is_refused_before_anything_is_written(pool, uow):
    with pytest.raises(ContractError, match="amount"):
        with uow() as work:
            work.emit("EntryPosted", "C-1", {"amount": "lots"})
    with pytest.raises(ContractError, match="published by"):
        with uow() as work:
            work.emit("ApplicationAccepted", "C-1", {})
    assert outbox_rows(pool) == []


def bound_queue(amqp_url: str, service: str) -> tuple[kombu.Connection, kombu.Queue]:
    conn = kombu.Connection(amqp_url)
    queue = kombu.Queue(f"test-{uuid.uuid4().hex[:6]}", Publisher.for_events(amqp_url, service).exchange,
                        routing_key="#", durable=True)
    queue(conn.channel()).declare()
    return conn, queue


def drain(conn: kombu.Connection, queue: kombu.Queue) -> list[dict]:
    bound = queue(conn.channel())
    out = []
    while (message := bound.get(accept=["json"])) is not None:
        out.append(message.payload)
        message.ack()
    return out


class CrashAfterPublish(Publisher):
    """Publishes the batch's first message, then dies before the relay can mark the rows: the crash
    the inbox exists for."""

    def publish_all(self, messages):
        super().publish_all(messages[:1])
        raise KeyboardInterrupt("process killed after publishing")


def test_a_batch_the_broker_refuses_in_part_raises_and_the_publisher_goes_on(amqp_url):
    """A queue full with `reject-publish` nacks what it cannot take: the batch is not confirmed
    (its rows stay unpublished, to be sent again), and the next batch goes out on a new channel."""
    name = f"test-full-{uuid.uuid4().hex[:6]}"
    exchange = kombu.Exchange(name, type="fanout", durable=False, auto_delete=True)
    queue = kombu.Queue(name, exchange, durable=False, auto_delete=True,
                        queue_arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    publisher = Publisher(amqp_url, exchange, queue)
    with pytest.raises(amqp.exceptions.MessageNacked):
        publisher.publish_all([Message({"n": n}, "") for n in range(3)])
    conn = kombu.Connection(amqp_url)
    assert [m["n"] for m in drain(conn, queue)] == [0]
    publisher.publish_all([Message({"n": 3}, "")])
    assert [m["n"] for m in drain(conn, queue)] == [3]
    publisher.close()
    conn.release()


def test_a_crash_after_publish_publishes_again_and_nothing_is_lost(pool, uow, schema, database_url, amqp_url):
    conn, queue = bound_queue(amqp_url, "ledger")
    with uow() as work:
        sent = [work.emit("EntryPosted", f"C-{i}", {"amount": i}) for i in range(3)]
    crashing = OutboxRelay(pool, database_url, "ledger", schema, CrashAfterPublish(amqp_url, Publisher.for_events(amqp_url, "ledger").exchange))
    with pytest.raises(KeyboardInterrupt):
        crashing.publish_pending()
    assert all(published is None for _, published in outbox_rows(pool))
    relay = OutboxRelay(pool, database_url, "ledger", schema, Publisher.for_events(amqp_url, "ledger"))
    assert relay.publish_pending() == 3
    assert relay.unpublished() == 0
    got = wait_until(lambda: (m := drain(conn, queue)) and m, what="published events")
    got += drain(conn, queue)
    # The first message went out before the crash and again after it: at least once, never lost.
    assert sorted(m["id"] for m in got) == sorted([str(sent[0].id)] * 2 + [str(e.id) for e in sent[1:]])
    conn.release()


def test_two_relays_share_the_backlog_without_publishing_a_row_twice(pool, uow, schema, database_url, amqp_url):
    conn, queue = bound_queue(amqp_url, "ledger")
    with uow() as work:
        sent = {str(work.emit("EntryPosted", None, {"amount": i}).id) for i in range(300)}
    relays = [OutboxRelay(pool, database_url, "ledger", schema, Publisher.for_events(amqp_url, "ledger"), batch=7)
              for _ in range(2)]
    counts = [0, 0]

    def work(i):
        while (n := relays[i].publish_pending()):
            counts[i] += n

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    received: list[str] = []
    wait_until(lambda: received.extend(m["id"] for m in drain(conn, queue)) or len(received) >= 300,
               what="300 messages")
    assert sum(counts) == 300 and len(received) == 300 and set(received) == sent
    conn.release()


@pytest.fixture
def own_broker(tmp_path):
    """A RabbitMQ node of this test's own (tooling.sandbox), to restart: the machine's broker is
    shared with the tests running beside this one (another pytest-xdist worker's) and other users."""
    rabbit = PrivateRabbit(tmp_path)
    rabbit.start()
    try:
        yield rabbit
    finally:
        rabbit.stop()


def test_the_relay_wakes_on_notify_and_survives_a_broker_restart(pool, uow, schema, database_url, own_broker):
    amqp_url = own_broker.url()
    conn, queue = bound_queue(amqp_url, "ledger")
    conn.release()
    # Polling once a minute: only the NOTIFY of the commit can wake it within the wait below.
    relay = OutboxRelay(pool, database_url, "ledger", schema, Publisher.for_events(amqp_url, "ledger"),
                        poll_seconds=60)
    runner = threading.Thread(target=relay.run, daemon=True)
    runner.start()
    try:
        with uow() as work:
            work.emit("EntryPosted", None, {"amount": 1})
        wait_until(lambda: relay.unpublished() == 0, timeout=20, what="the relay woken by NOTIFY")

        own_broker.stop_app()
        try:
            with uow() as work:
                work.emit("EntryPosted", None, {"amount": 2})
        finally:
            own_broker.start_app()
        # The broker is back; the relay retries (its backoff is at most 5 s) and publishes.
        wait_until(lambda: relay.unpublished() == 0, timeout=60, what="publishing after the broker restart")
    finally:
        relay.stop()
        runner.join(timeout=70)
    conn = kombu.Connection(amqp_url)
    amounts = sorted(m["payload"]["amount"] for m in drain(conn, queue))
    conn.release()
    assert amounts == [1, 2]
