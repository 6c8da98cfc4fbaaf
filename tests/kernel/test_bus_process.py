"""A real bus process (`python -m services.busrun`) on the real RabbitMQ and PostgreSQL:
exactly-once effects, dead letters, restart after a crash, hub safety, a clean SIGTERM."""
from __future__ import annotations

import json
import subprocess

import kombu
import psycopg
import pytest

from services.db import migrate, open_pool
from services.relay import DEAD_LETTER_QUEUE, Publisher
from services.uow import unit_of_work_factory
from tests.conftest import PYTHON, ROOT
from tests.ledger_service import MIGRATIONS
from tests.support import free_port, metric, stop, wait_until

QUEUE = "evt-ledger-EntryPosted--ledger.post"


@pytest.fixture
def ledger(database_url, process_env):
    """The ledger schema migrated, a unit of work on it, and a way to start its bus process."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS ledger CASCADE")
    migrate(database_url, "ledger", MIGRATIONS)
    pool = open_pool(database_url, "ledger", max_size=2)
    procs: list[subprocess.Popen] = []

    class Ledger:
        uow = staticmethod(unit_of_work_factory(pool, "ledger", "ledger"))
        port = free_port()

        def start(self, **env) -> subprocess.Popen:
            proc = subprocess.Popen(
                [PYTHON, "-m", "services.busrun", "tests.ledger_service:LedgerService"], cwd=ROOT,
                env={**process_env, "ONEWINDOW_METRICS_PORT": str(self.port), "ONEWINDOW_DEAD_LETTER_AFTER": "3",
                     "ONEWINDOW_RELAY_POLL_SECONDS": "0.5", **env})
            procs.append(proc)
            wait_until(lambda: metric(self.port, "onewindow_outbox_unpublished", service="ledger") is not None
                       or proc.poll() is not None, what="the bus process to serve /metrics")
            assert proc.poll() is None, "the bus process died on start"
            wait_until(lambda: self.queue_exists(process_env["ONEWINDOW_AMQP_URL"]), what="its queue")
            return proc

        @staticmethod
        def queue_exists(amqp_url):
            with kombu.Connection(amqp_url) as conn:
                try:
                    kombu.Queue(QUEUE, channel=conn.channel()).queue_declare(passive=True)
                    return True
                except Exception:
                    return False

        @staticmethod
        def entries() -> list[int]:
            with pool.connection() as conn:
                return [r[0] for r in conn.execute("SELECT amount FROM entries ORDER BY amount")]

        def handled(self, outcome: str) -> float:
            return metric(self.port, "onewindow_messages_handled_total", service="ledger", handler="post",
                          outcome=outcome) or 0

    yield Ledger()
    for proc in procs:
        stop(proc)
    pool.close()


def test_events_flow_once_even_when_delivered_twice(ledger, process_env):
    ledger.start()
    with ledger.uow() as uow:
        sent = [uow.emit("EntryPosted", None, {"amount": i}) for i in range(1, 21)]
    wait_until(lambda: len(ledger.entries()) == 20, what="20 entries")
    # The broker delivers a message again (a redelivery, or a relay that crashed after publishing).
    again = Publisher.for_events(process_env["ONEWINDOW_AMQP_URL"], "ledger")
    for envelope in sent[:5]:
        again.publish(envelope.to_wire(), envelope.type, str(envelope.id))
    again.close()
    wait_until(lambda: ledger.handled("duplicate") == 5, what="5 duplicates skipped")
    assert ledger.entries() == list(range(1, 21))
    with psycopg.connect(process_env["ONEWINDOW_DATABASE_URL"], autocommit=True) as conn:  # named for the DBA
        assert conn.execute("SELECT query FROM pg_stat_activity WHERE application_name = 'ledger-relay'").fetchall() \
            == [('LISTEN "outbox_ledger"',)]


def test_a_backlog_is_handled_in_batches_each_entry_once(ledger, process_env):
    first = ledger.start()
    first.terminate()
    first.wait(timeout=15)  # the queue exists; nothing consumes it now
    publisher = Publisher.for_events(process_env["ONEWINDOW_AMQP_URL"], "ledger")
    with ledger.uow() as uow:  # a backlog: 60 events waiting in the queue, 5 of them twice
        sent = [uow.emit("EntryPosted", None, {"amount": i}) for i in range(1, 61)]
        uow.execute("UPDATE outbox SET published_at = now()")  # published here, not by a relay
    for envelope in sent + sent[:5]:
        publisher.publish(envelope.to_wire(), envelope.type, str(envelope.id))
    publisher.close()
    ledger.start()
    wait_until(lambda: ledger.handled("done") + ledger.handled("duplicate") == 65, what="the backlog handled")
    assert ledger.entries() == list(range(1, 61)) and ledger.handled("duplicate") == 5
    with ledger.uow() as uow:
        transactions = uow.execute("SELECT count(DISTINCT xmin::text) FROM entries").fetchone()[0]
    batches = metric(ledger.port, "onewindow_batch_messages_count", service="ledger")
    assert transactions < 60 and batches < 65, (transactions, batches)


def test_a_poison_message_is_dead_lettered_with_its_error_and_the_rest_flow_on(ledger, process_env):
    ledger.start()
    with ledger.uow() as uow:
        poison = uow.emit("EntryPosted", "C-9", {"amount": 99, "poison": True})
        for i in (1, 2, 3):
            uow.emit("EntryPosted", None, {"amount": i})
    wait_until(lambda: len(ledger.entries()) == 3, what="the healthy entries")
    with kombu.Connection(process_env["ONEWINDOW_AMQP_URL"]) as conn:
        queue = kombu.Queue(DEAD_LETTER_QUEUE, channel=conn.channel())
        message = wait_until(lambda: queue.get(accept=["json"]), what="the dead letter")
        message.ack()
    assert message.payload["id"] == str(poison.id)
    assert message.headers["x-attempts"] == 3 and message.headers["x-handler"] == "post"
    assert "entry 99 cannot be posted" in message.headers["x-error"]
    with ledger.uow() as uow:
        outcome = uow.execute("SELECT outcome, attempts FROM inbox WHERE message_id = %s", [poison.id]).fetchone()
    assert outcome == ("dead_lettered", 3)
    assert ledger.entries() == [1, 2, 3]


def test_a_message_that_is_not_an_envelope_is_dead_lettered_at_once(ledger, process_env):
    ledger.start()
    publisher = Publisher.for_events(process_env["ONEWINDOW_AMQP_URL"], "ledger")
    publisher.publish({"hello": "world"}, "EntryPosted")
    publisher.close()
    with kombu.Connection(process_env["ONEWINDOW_AMQP_URL"]) as conn:
        queue = kombu.Queue(DEAD_LETTER_QUEUE, channel=conn.channel())
        message = wait_until(lambda: queue.get(accept=["json"]), what="the dead letter")
    assert message.headers["x-attempts"] == 1 and "not an onewindow envelope" in message.headers["x-error"]


def test_a_crash_between_commit_and_publish_loses_nothing(ledger):
    proc = ledger.start()
    proc.kill()  # kill -9: nothing of the process is left to publish
    proc.wait()
    with ledger.uow() as uow:
        for i in (1, 2, 3):
            uow.emit("EntryPosted", None, {"amount": i})
    with ledger.uow() as uow:
        assert uow.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0] == 3
    ledger.start()  # the restarted relay publishes what was committed
    wait_until(lambda: ledger.entries() == [1, 2, 3], what="the entries after restart")


def test_sigterm_stops_the_bus_process_cleanly(ledger):
    proc = ledger.start()
    proc.terminate()
    assert proc.wait(timeout=10) == 0


def test_the_bus_process_keeps_the_eventlet_hub_free_during_database_waits(database_url, process_env):
    """Five concurrent 1 s database waits take about 1 s, not 5 (psycopg's C wait would block)."""
    probe = (
        "import services.busrun, json, time, eventlet, psycopg\n"
        "from services.db import open_pool\n"
        f"pool = open_pool({database_url!r}, 'public', max_size=5)\n"
        "pool.wait()\n"
        "def wait():\n"
        "    with pool.connection() as c: c.execute('SELECT pg_sleep(1)')\n"
        "t = time.monotonic(); g = eventlet.GreenPool()\n"
        "[g.spawn(wait) for _ in range(5)]; g.waitall()\n"
        "print(json.dumps({'seconds': time.monotonic() - t, 'impl': psycopg.pq.__impl__,\n"
        "                  'wait': psycopg.waiting.wait.__name__}))\n"
    )
    out = subprocess.run([PYTHON, "-c", probe], cwd=ROOT, env=process_env, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["impl"] in ("c", "binary") and result["wait"] == "wait_select"  # C parsing, green waits
    assert result["seconds"] < 2.5, result  # serialised waits would take 5 s
