"""A message that came before one it builds on (`Early`): put back with nothing written, handled
once its predecessor is; dead-lettered with its error if it stays early too long."""
from __future__ import annotations

import datetime as dt

import kombu
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
    dead_letters = Publisher.for_dead_letters(amqp_url)
    yield Inbox(unit_of_work_factory(pool, "ledger", schema), "ledger", dead_letters)
    dead_letters.close()
    pool.close()


def envelope():
    return new_envelope("ledger", "EntryPosted", "C1", {"amount": 1}, dt.datetime.now(CHINA)).to_wire()


def marks(inbox) -> list[tuple]:
    with inbox.unit_of_work() as uow:
        return uow.execute("SELECT handler, outcome, error FROM inbox").fetchall()


def test_an_early_message_is_put_back_with_nothing_written_then_handled(inbox):
    predecessor_recorded = False

    def handler(uow, message):
        uow.emit("EntryPosted", "C1", {"amount": 2})
        if not predecessor_recorded:
            raise Early("C1 is not known yet")

    raw = envelope()
    assert inbox.handle_all([Delivery("post", raw, handler)]) == ["early"]
    assert marks(inbox) == []
    with inbox.unit_of_work() as uow:
        assert uow.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
    predecessor_recorded = True
    assert inbox.handle_all([Delivery("post", raw, handler)]) == ["done"]
    assert inbox.handle_all([Delivery("post", raw, handler)]) == ["duplicate"]


def test_a_message_still_early_after_the_limit_is_dead_lettered_with_its_error(inbox, amqp_url):
    inbox.early_seconds = 0

    def handler(uow, message):
        raise Early("C1 is not known yet")

    raw = envelope()
    assert inbox.handle_all([Delivery("post", raw, handler)]) == ["dead_lettered"]
    assert marks(inbox) == [("post", "dead_lettered", "Early: C1 is not known yet")]
    with kombu.Connection(amqp_url) as conn:
        message = kombu.Queue(DEAD_LETTER_QUEUE, channel=conn.channel()).get(accept=["json"])
    assert message.properties["message_id"] == raw["id"]
    assert message.headers["x-error"] == "Early: C1 is not known yet"
