"""`Inbox.handle_all`, a batch of delivered messages in one transaction, on the real PostgreSQL:
each message's effect once, the batch together, and a message that fails (error, early, not an
envelope) handled alone without holding up or undoing the others."""
from __future__ import annotations

import datetime as dt

import kombu
import psycopg
import pytest

from services.contracts import new_envelope
from services.db import open_pool
from services.inbox import Delivery, Early, Inbox
from services.relay import DEAD_LETTER_QUEUE, Publisher
from services.timesource import CHINA
from services.uow import unit_of_work_factory
from tests import ledger_service  # noqa: F401  (registers the test event)


@pytest.fixture
def inbox(database_url, schema, amqp_url):
    pool = open_pool(database_url, schema, max_size=2)
    with pool.connection() as conn:
        conn.execute("CREATE TABLE entries (amount integer NOT NULL, tx bigint NOT NULL DEFAULT txid_current())")
    dead_letters = Publisher.for_dead_letters(amqp_url)
    yield Inbox(unit_of_work_factory(pool, "ledger", schema), "ledger", dead_letters, attempts=2,
                backoff_seconds=0, outage_pause_seconds=0, early_pause_seconds=0)
    dead_letters.close()
    pool.close()


def message(amount: int) -> dict:
    return new_envelope("ledger", "EntryPosted", f"C{amount}", {"amount": amount}, dt.datetime.now(CHINA)).to_wire()


def post(uow, envelope):
    amount = envelope.payload["amount"]
    uow.execute("INSERT INTO entries (amount) VALUES (%s)", [amount])
    if amount == 99:
        raise ValueError("99 cannot be posted")


def entries(inbox) -> list[tuple[int, int]]:
    with inbox.unit_of_work() as uow:
        return uow.execute("SELECT amount, tx FROM entries ORDER BY amount").fetchall()


def deliveries(*bodies, fn=post) -> list[Delivery]:
    return [Delivery("post", body, fn) for body in bodies]


def test_a_batch_is_handled_in_one_transaction_each_effect_once(inbox):
    bodies = [message(i) for i in range(1, 6)]
    assert inbox.handle_all(deliveries(*bodies)) == ["done"] * 5
    written = entries(inbox)
    assert [a for a, _ in written] == [1, 2, 3, 4, 5] and len({tx for _, tx in written}) == 1
    # delivered again, one of them twice in the same batch, beside a new one
    again = deliveries(bodies[0], bodies[3], bodies[3], message(6))
    assert inbox.handle_all(again) == ["duplicate", "duplicate", "duplicate", "done"]
    assert [a for a, _ in entries(inbox)] == [1, 2, 3, 4, 5, 6]
    with inbox.unit_of_work() as uow:
        assert uow.execute("SELECT count(*) FROM inbox WHERE outcome = 'done'").fetchone() == (6,)


def test_a_failing_message_is_dead_lettered_alone_and_the_others_commit(inbox, amqp_url):
    inbox.dead_letters.declare()
    with kombu.Connection(amqp_url) as conn:
        kombu.Queue(DEAD_LETTER_QUEUE, channel=conn.channel()).purge()
    batch = deliveries(message(1), message(2), message(99), message(3), {"hello": "world"}, message(4))
    assert inbox.handle_all(batch) == ["done", "done", "dead_lettered", "done", "dead_lettered", "done"]
    written = entries(inbox)
    assert [a for a, _ in written] == [1, 2, 3, 4]  # nothing of 99's: its writes rolled back with each attempt
    assert len({tx for _, tx in written}) == 2  # the ones before it together, the ones after it together
    with kombu.Connection(amqp_url) as conn:
        queue = kombu.Queue(DEAD_LETTER_QUEUE, channel=conn.channel())
        dead = [queue.get(accept=["json"]) for _ in range(2)]
    assert sorted(m.headers["x-attempts"] for m in dead) == [1, 2]
    assert any("99 cannot be posted" in m.headers["x-error"] for m in dead)


def test_an_early_message_goes_back_with_nothing_written_and_the_rest_commit(inbox):
    known = set()

    def follow(uow, envelope):
        amount = envelope.payload["amount"]
        if amount > 100 and amount - 100 not in known:
            raise Early(f"{amount - 100} is not known yet")
        uow.execute("INSERT INTO entries (amount) VALUES (%s)", [amount])
        known.add(amount)

    later = message(101)  # builds on 1, which comes after it
    assert inbox.handle_all(deliveries(message(2), later, message(1), fn=follow)) == ["done", "early", "done"]
    assert [a for a, _ in entries(inbox)] == [1, 2]
    assert inbox.handle_all(deliveries(later, fn=follow)) == ["done"]  # put back, and it comes again
    assert [a for a, _ in entries(inbox)] == [1, 2, 101]


def test_an_outage_puts_the_whole_batch_back_with_nothing_written(inbox):
    def away(uow, envelope):
        post(uow, envelope)
        if envelope.payload["amount"] == 2:
            raise psycopg.OperationalError("the server closed the connection unexpectedly")

    assert inbox.handle_all(deliveries(message(1), message(2), message(3), fn=away)) == ["retried"] * 3
    assert entries(inbox) == []
    with inbox.unit_of_work() as uow:
        assert uow.execute("SELECT count(*) FROM inbox").fetchone() == (0,)
