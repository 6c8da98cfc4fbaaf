"""Two copies of every process under load, as a cluster runs them: they share the work and every
case concludes exactly once; a rolling SIGTERM of every process while cases flow loses nothing."""
from __future__ import annotations

import json
import signal
import threading
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import isolated_system
from tests.support import wait_until
from tooling.audit import audit
from tooling.loadgen import run_load
from tooling.processes import SERVICES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def replicated(tmp_path_factory):
    # 16 processes within PostgreSQL's default 100 connections: smaller pools (docs/operations.md)
    with isolated_system(tmp_path_factory.mktemp("replicated"), replicas=2, db_pool_size=3,
                         api_db_pool_size=5) as running:
        yield running


def load(running, cases: int, rate: float) -> dict:
    return run_load(running.settings, cases=cases, rate=rate, concurrency=16, progress=False, echo=lambda _: None)


def _cases(running) -> int:
    return running.sql("intake", "SELECT count(*) FROM cases")[0][0]


def handled(port: int) -> float:
    """Messages a process handled to the end (outcome done), from its /metrics."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(sample.value for family in text_string_to_metric_families(text)
               if family.name == "onewindow_messages_handled"
               for sample in family.samples
               if sample.name.endswith("_total") and sample.labels.get("outcome") == "done")


def assert_books_balance(running) -> None:
    """What the store says, whatever the load generator saw (tooling.audit): every case concluded
    once, one task per department, stage and round, at most one decision per task, everything
    published, nothing dead. Checked until the services have caught up with one another."""
    found: list = []

    def balanced() -> bool:
        found[:] = audit(running.settings.database_url, running.settings.amqp_url)
        return not found

    try:
        wait_until(balanced, timeout=60, what="the books to balance")
    except AssertionError:
        raise AssertionError(found[:20]) from None


def test_two_copies_of_every_process_share_the_work_and_conclude_every_case_once(replicated):
    result = load(replicated, cases=300, rate=30)
    assert (result["cases"], result["concluded"], result["lost"], result["duplicated"]) == (300, 300, 0, 0), \
        json.dumps(result, default=str)
    assert_books_balance(replicated)
    system = replicated.system
    for service in [s for s in SERVICES if s.bus]:  # competing consumers: both copies of each bus side worked
        name = f"{service.name}-bus"
        shares = [handled(system.metrics_ports[n]) for n in (name, f"{name}.2")]
        assert all(share > 0 for share in shares), (name, shares)


@pytest.mark.timeout(300)  # 420 cases at 12/s, two rounds of restarts: about 50 s alone, more beside other tests
def test_a_rolling_sigterm_of_every_process_under_load_loses_nothing(replicated):
    system = replicated.system
    result: dict = {}
    before = _cases(replicated)
    # 12/s: two copies of nine processes and the load on two cores; at 15/s the hall was saturated
    # (p50 over 10 s) and a bus process once took more than 30 s to stop
    flowing = threading.Thread(target=lambda: result.update(load(replicated, cases=420, rate=12)))
    flowing.start()
    stopped: dict[str, tuple[int, float]] = {}

    def sigterm(names: list[str]) -> None:
        started = time.monotonic()
        for name in names:
            system.procs[name].send_signal(signal.SIGTERM)
        for name in names:
            stopped[name] = (system.procs[name].wait(timeout=30), round(time.monotonic() - started, 1))
        for name in names:
            system.start(name)
        system.wait_ready(names=names)

    try:
        # as a rollout restart of every deployment at once, one pod of each at a time: the first copy
        # of every process together, their twins carrying the work meanwhile
        wait_until(lambda: _cases(replicated) - before >= 60, timeout=60, what="cases flowing")
        sigterm([n for n in system.argv if "." not in n])
        sigterm(["approval-bus", "approval-bus.2"])  # then no approval consumer at all for a while
    finally:
        flowing.join()
    assert all(code == 0 and seconds < 10 for code, seconds in stopped.values()), stopped
    assert (result["cases"], result["concluded"], result["lost"], result["duplicated"]) == (420, 420, 0, 0), \
        json.dumps(result, default=str)  # whole: the errors the clients met say where a case stopped
    assert_books_balance(replicated)
